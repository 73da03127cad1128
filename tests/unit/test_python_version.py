"""One Python: the functions run locally, and are tested, on the version template.yaml deploys them on."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def template_runtime_version() -> str:
    runtimes = set(re.findall(r"^\s+Runtime: python(\d+\.\d+)$", (ROOT / "template.yaml").read_text(), re.M))
    assert len(runtimes) == 1, f"template.yaml should name one runtime, found {runtimes}"
    return runtimes.pop()


def test_make_builds_the_virtualenv_with_the_template_runtime_python() -> None:
    # Given the version the Makefile creates .venv with
    makefile = (ROOT / "Makefile").read_text()
    versions = re.findall(r"^PYTHON_VERSION := (\S+)$", makefile, re.M)

    # Then it is the one the template deploys the functions on
    assert versions == [template_runtime_version()]


def test_the_tests_run_on_the_template_runtime_python() -> None:
    # What a limit or a status phrase depends on is the interpreter running this very test
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == template_runtime_version()


def test_the_readme_and_ci_name_the_template_runtime_python() -> None:
    version = template_runtime_version()
    readme = (ROOT / "README.md").read_text()
    run_it_locally = readme.split("## Run it locally", 1)[1].split("\n## ", 1)[0]
    test_section = readme.split("\n## Test\n", 1)[1].split("\n## ", 1)[0]

    for section in (run_it_locally, test_section, (ROOT / ".ci" / "run").read_text()):
        assert f"Python {version}" in section
        assert not re.search(r"Python 3\.\d+\+", section), "no open-ended version: the runtime's only"
