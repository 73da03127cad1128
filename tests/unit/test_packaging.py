"""Each function in template.yaml is a complete Lambda package on its own.

For every AWS::Serverless::Function: install its requirements.txt into a fresh folder the way
`sam build` does, copy the function's code beside it, and import the handler in a clean interpreter
that sees nothing else (no project virtualenv, no dev dependencies). The install targets this
machine's Python; a second check proves every dependency has a binary wheel for the runtime and
architecture the template deploys to, which `sam build` needs to build without a container.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from isolated_python import downloaded_wheels, installed_requirements, run_isolated

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = json.loads(json.dumps(cfn_yaml.load(str(ROOT / "template.yaml"))))
GLOBALS = TEMPLATE["Globals"]["Function"]
FUNCTIONS = {
    logical_id: resource["Properties"]
    for logical_id, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}
# Lambda architecture: (pip platform, machine name in compiled wheel tags)
WHEEL_PLATFORMS = {
    "arm64": ("manylinux2014_aarch64", "aarch64"),
    "x86_64": ("manylinux2014_x86_64", "x86_64"),
}

# What Lambda sets, plus sample values for the template's references.
LAMBDA_ENVIRONMENT = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}
SAMPLE_REFERENCES = {
    "MathFunctionAliaslive": "arn:aws:lambda:us-east-1:123456789012:function:math-durable:live",
    "CorsAllowOrigin": "*",
}

IMPORT_HANDLER = """
import importlib, json
module_name, _, attribute = {handler!r}.rpartition(".")
module = importlib.import_module(module_name)
handler = getattr(module, attribute)
third_party = sorted(
    name for name, loaded in sys.modules.items()
    if "." not in name and getattr(loaded, "__file__", None) and {deps!r} in loaded.__file__
)
print(json.dumps({{"file": module.__file__, "callable": callable(handler), "third_party": third_party}}))
"""


def environment(properties: dict[str, Any]) -> dict[str, str]:
    """The function's environment as deployed: Globals, then its own, references given sample values."""
    variables = {**GLOBALS["Environment"]["Variables"], **properties["Environment"]["Variables"]}
    resolved = {
        name: SAMPLE_REFERENCES[value["Ref"]] if isinstance(value, dict) else str(value)
        for name, value in variables.items()
    }
    return {**LAMBDA_ENVIRONMENT, **resolved}


def top_level_names(folder: Path) -> set[str]:
    return {path.stem for path in folder.iterdir() if path.suffix == ".py" or (path / "__init__.py").exists()}


@pytest.fixture(scope="module")
def cache_dir(request: pytest.FixtureRequest) -> Path:
    return request.config.cache.mkdir("lambda-packages")


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_handler_imports_from_its_package_alone(logical_id: str, cache_dir: Path, tmp_path: Path) -> None:
    # Given the function's requirements installed into their own folder, its code copied beside them
    properties = FUNCTIONS[logical_id]
    code = ROOT / properties["CodeUri"]
    deps = installed_requirements(code / "requirements.txt", cache_dir, logical_id)
    package = shutil.copytree(code, tmp_path / logical_id, ignore=shutil.ignore_patterns("__pycache__"))
    # In the deployed zip both share one folder, so no module of the function may shadow a dependency.
    assert not top_level_names(package) & top_level_names(deps)

    # When a clean interpreter imports the handler from just those two folders
    result = run_isolated(
        IMPORT_HANDLER.format(handler=properties["Handler"], deps=str(deps)),
        [package, deps],
        environment(properties),
    )

    # Then it imports, from the copied code, with its runtime dependencies from the installed folder
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout)
    assert Path(imported["file"]).parent == package
    assert imported["callable"] is True
    assert "aws_lambda_powertools" in imported["third_party"]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_requirements_have_wheels_for_the_deployed_runtime(logical_id: str, cache_dir: Path) -> None:
    # Given the runtime and architecture the template deploys (python3.13 on arm64)
    properties = FUNCTIONS[logical_id]
    python_version = properties.get("Runtime", GLOBALS["Runtime"]).removeprefix("python")
    (architecture,) = properties.get("Architectures", GLOBALS["Architectures"])
    platform, machine = WHEEL_PLATFORMS[architecture]

    # When pip fetches binary wheels only, for that Python and platform
    wheels = downloaded_wheels(
        ROOT / properties["CodeUri"] / "requirements.txt",
        cache_dir,
        f"{logical_id}-wheels",
        python_version,
        platform,
    )

    # Then every requirement resolved (PipError otherwise), compiled ones for that target
    names = [wheel.name for wheel in wheels.glob("*.whl")]
    compiled = [name for name in names if not name.endswith("-none-any.whl")]
    tag = f"cp{python_version.replace('.', '')}"
    assert names
    assert all(tag in name and machine in name for name in compiled), compiled
