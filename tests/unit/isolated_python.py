"""Pinned requirements installed into plain folders, and a clean interpreter that sees only them.

`sam build` lays out a Python Lambda package as `pip install -r requirements.txt -t <dir>` with the
function's own modules beside the dependencies. `run_isolated` starts this Python with `-I -S`: no
site-packages at all (neither the project's virtualenv nor the user's), no PYTHON* variables, only
the standard library and the folders it is given. An import that works there works because those
folders hold everything it needs.

Folders are cached per requirements file content, Python version and platform, so a repeated run
installs nothing; every check still runs in a fresh interpreter.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path

PIP_TIMEOUT_SECONDS = 600
RUN_TIMEOUT_SECONDS = 120
PIP_QUIET = ("--quiet", "--disable-pip-version-check", "--no-input")


class PipError(RuntimeError):
    """pip could not install or download a requirements file."""


def _cached_pip(command: Sequence[str], requirements: Path, cache_dir: Path, name: str) -> Path:
    """Run `pip <verb> -r requirements <options> <folder>` once per content; then reuse the folder.

    `command` is the verb and its options, the last one taking the folder (`--target`, `--dest`).
    """
    digest = hashlib.sha256(requirements.read_bytes())
    for part in (sys.version, sysconfig.get_platform(), *command):
        digest.update(part.encode())
    target = cache_dir / f"{name}-{digest.hexdigest()[:16]}"
    if target.is_dir():
        return target

    staging = cache_dir / f"{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            command[0],
            "-r",
            str(requirements),
            *PIP_QUIET,
            *command[1:],
            str(staging),
        ],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise PipError(f"pip {' '.join(command)} -r {requirements} failed:\n{result.stderr}")
    try:
        staging.rename(target)
    except OSError:  # a concurrent run finished the same folder first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def installed_requirements(requirements: Path, cache_dir: Path, name: str) -> Path:
    """A folder holding `pip install -r requirements -t <folder>` for this Python, as `sam build` does."""
    return _cached_pip(
        ["install", "--ignore-installed", "--no-compile", "--target"], requirements, cache_dir, name
    )


def downloaded_wheels(
    requirements: Path, cache_dir: Path, name: str, python_version: str, platform: str
) -> Path:
    """A folder of binary wheels for another Python and platform (the Lambda runtime's), or PipError."""
    command = ["download", "--only-binary=:all:", "--implementation", "cp"]
    command += ["--python-version", python_version, "--platform", platform, "--dest"]
    return _cached_pip(command, requirements, cache_dir, name)


def run_isolated(
    code: str, paths: Sequence[Path], env: Mapping[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh `python -I -S` whose sys.path is `paths` followed by the standard library."""
    prelude = f"import sys\nsys.path[:0] = {[str(path) for path in paths]!r}\n"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + code],
        input=stdin,
        env={"PATH": os.defpath, "LANG": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
