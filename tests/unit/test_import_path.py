"""One import path: the Makefile's FUNCTION_PATH (scripts, bench) names pyproject's pytest folders."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_makefile_puts_the_same_function_folders_on_the_path_as_pytest():
    # Given pytest's import roots, and the path the Makefile gives the scripts and the bench
    pytest_folders = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"][
        "pythonpath"
    ]
    makefile_path = re.search(r"^FUNCTION_PATH := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)

    # Then both name the same function folders, in the same order (the repository root aside)
    assert makefile_path is not None
    assert makefile_path.group(1).split(":") == [folder for folder in pytest_folders if folder != "."]


def test_no_script_or_bench_module_edits_sys_path():
    sources = [*(ROOT / "scripts").glob("*.py"), *(ROOT / "bench").glob("*.py")]

    edits = [path.name for path in sources if "sys.path" in path.read_text()]

    assert edits == []
