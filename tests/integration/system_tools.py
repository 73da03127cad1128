"""What some integration tests need from the machine or the environment, and what its absence means.

A missing requirement skips the tests that need it on a developer's machine. Under CI
(`CI=true`, `1` or `yes`; `false`, `0`, `no` or unset is not CI) it fails them instead: there the
whole suite must run. `make test` installs the Debian programs where it can.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import NoReturn

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CI_VALUES = ("true", "1", "yes")


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in CI_VALUES


def missing_requirement(reason: str) -> NoReturn:
    """Skip, saying exactly what is missing; under CI, fail with the same words."""
    if under_ci():
        pytest.fail(f"{reason} (CI is set: every requirement must be met)")
    pytest.skip(f"{reason} (under CI=true this fails)")


def chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        missing_requirement("chromium is not installed (Debian package chromium; `make test` installs it)")
    return CHROMIUM


def aws_cli_v2() -> str:
    """The AWS CLI version 2 (Debian's awscli); PyPI's awscli, often first on PATH, is version 1."""
    candidates = dict.fromkeys(filter(None, [shutil.which("aws"), "/usr/bin/aws", "/usr/local/bin/aws"]))
    for candidate in candidates:
        try:
            version = subprocess.run([candidate, "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if (version.stdout + version.stderr).startswith("aws-cli/2."):
            return candidate
    missing_requirement("AWS CLI v2 is not installed (Debian package awscli; `make test` installs it)")
