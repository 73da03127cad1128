"""The Debian programs some integration tests drive; `make test` installs them where it can."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import NoReturn

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def missing_tool(reason: str) -> NoReturn:
    """Skip where a developer lacks a system tool; under CI every tool must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: `make test` installs it")
    pytest.skip(reason)


def chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        missing_tool("chromium is not installed (Debian package chromium)")
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
    missing_tool("AWS CLI v2 is not installed (Debian package awscli)")
