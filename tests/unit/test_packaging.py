"""Each function in template.yaml is a complete Lambda package with the layers it is given.

For every AWS::Serverless::Function: install its requirements.txt into a fresh folder the way
`sam build` does, copy the function's code beside it, lay the shared layer out as Lambda mounts it
(its content in a `python/` folder, after the function's own code on sys.path), and import the
handler in a clean interpreter that sees nothing else (no project virtualenv, no dev
dependencies). The install targets this machine's Python; a second check proves every dependency
has a binary wheel for the runtime and architecture the template deploys to, which `sam build`
needs to build without a container. The facts the functions share are declared once, in the
layer: each handler imports them from there, and no function folder holds a copy.
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
SHARED_LAYER = TEMPLATE["Resources"]["SharedLayer"]
SHARED_CODE = ROOT / SHARED_LAYER["Properties"]["ContentUri"]
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
    "CalculationsTable": "calculations",
    "WebhooksTable": "webhooks",
    "WebhookDeliveryFunctionAliaslive": "arn:aws:lambda:us-east-1:123456789012:function:webhook-delivery:1",
    "WebhookRetrySchedule": "0,5,300",
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
shared = {{name: sys.modules[name].__file__ for name in {shared!r} if name in sys.modules}}
print(json.dumps({{
    "file": module.__file__, "callable": callable(handler), "third_party": third_party, "shared": shared,
}}))
"""


def environment(properties: dict[str, Any]) -> dict[str, str]:
    """The function's environment as deployed: Globals, then its own, references given sample values."""
    variables = {**GLOBALS["Environment"]["Variables"], **properties["Environment"]["Variables"]}
    resolved = {
        name: reference(value) if isinstance(value, dict) else str(value) for name, value in variables.items()
    }
    return {**LAMBDA_ENVIRONMENT, **resolved}


def reference(value: dict[str, Any]) -> str:
    """A parameter's default, or a sample value for a resource."""
    name = value["Ref"]
    if name in TEMPLATE["Parameters"]:
        return str(TEMPLATE["Parameters"][name]["Default"])
    return SAMPLE_REFERENCES[name]


def layers(properties: dict[str, Any]) -> list[Any]:
    """The function's layers: SAM appends its own to those in Globals."""
    return [*GLOBALS.get("Layers", []), *properties.get("Layers", [])]


def top_level_names(folder: Path) -> set[str]:
    return {path.stem for path in folder.iterdir() if path.suffix == ".py" or (path / "__init__.py").exists()}


@pytest.fixture(scope="module")
def cache_dir(request: pytest.FixtureRequest) -> Path:
    return request.config.cache.mkdir("lambda-packages")


@pytest.fixture(scope="module")
def shared_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared layer as Lambda mounts it (/opt/python): sam build copies the folder into python/."""
    # Standard library only, so there is nothing to install beside it.
    requirements = (SHARED_CODE / "requirements.txt").read_text().splitlines()
    assert [line for line in requirements if line.strip() and not line.startswith("#")] == []
    return shutil.copytree(
        SHARED_CODE, tmp_path_factory.mktemp("opt") / "python", ignore=shutil.ignore_patterns("__pycache__")
    )


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_handler_imports_from_its_package_and_the_shared_layer(
    logical_id: str, cache_dir: Path, tmp_path: Path, shared_layer: Path
) -> None:
    # Given the function's requirements installed into their own folder, its code copied beside
    # them, and the shared layer in its own folder
    properties = FUNCTIONS[logical_id]
    code = ROOT / properties["CodeUri"]
    deps = installed_requirements(code / "requirements.txt", cache_dir, logical_id)
    package = shutil.copytree(code, tmp_path / logical_id, ignore=shutil.ignore_patterns("__pycache__"))
    # In the deployed zip both share one folder, so no module of the function may shadow a dependency;
    # and the function's folder comes first on sys.path, so none may shadow a layer module either.
    assert not top_level_names(package) & top_level_names(deps)
    assert not (top_level_names(package) | top_level_names(deps)) & top_level_names(shared_layer)

    # When a clean interpreter imports the handler from just those folders, in Lambda's order
    result = run_isolated(
        IMPORT_HANDLER.format(
            handler=properties["Handler"], deps=str(deps), shared=sorted(top_level_names(SHARED_CODE))
        ),
        [package, deps, shared_layer],
        environment(properties),
    )

    # Then it imports, from the copied code, with its runtime dependencies from the installed folder
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout)
    assert Path(imported["file"]).parent == package
    assert imported["callable"] is True
    assert "aws_lambda_powertools" in imported["third_party"]
    # And the shared facts come from the layer
    assert Path(imported["shared"]["calculation_facts"]).parent == shared_layer


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_function_gets_the_shared_facts_from_the_layer_and_holds_no_copy(logical_id: str) -> None:
    # Given the template's function and the one declaration of the facts (functions/shared)
    properties = FUNCTIONS[logical_id]
    code = ROOT / properties["CodeUri"]
    facts = (SHARED_CODE / "calculation_facts.py").read_text()

    # Then the function is deployed with the shared layer
    assert {"Ref": "SharedLayer"} in layers(properties)
    # And no module of its own is named like a layer module (it would shadow it in Lambda)
    assert not {path.stem for path in code.rglob("*.py")} & top_level_names(SHARED_CODE)
    # And none restates a fact's value: the result document's error_details, the id rule
    for value in ("One or more operations failed", "[A-Za-z0-9_-]{1,64}"):
        assert value in facts
        restated = [path.name for path in code.rglob("*.py") if value in path.read_text()]
        assert restated == [], f"{value} restated in {restated}; import it from calculation_facts"


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


SERVE_CONSOLE = """
import json, console_routes
print(json.dumps({
    "folder": str(console_routes.CONSOLE_FILES),
    "page": len(console_routes.page_html()),
    "assets": {name: len(console_routes.asset_text(name)) for name in console_routes.ASSETS},
}))
"""


def test_the_api_package_ships_the_console_page_and_its_assets(
    cache_dir: Path, tmp_path: Path, shared_layer: Path
) -> None:
    # Given the API function's package, built as sam build copies its code folder
    properties = FUNCTIONS["ApiFunction"]
    code = ROOT / properties["CodeUri"]
    deps = installed_requirements(code / "requirements.txt", cache_dir, "ApiFunction")
    package = shutil.copytree(code, tmp_path / "ApiFunction", ignore=shutil.ignore_patterns("__pycache__"))

    # When a clean interpreter serves the console from that package and its layer
    result = run_isolated(SERVE_CONSOLE, [package, deps, shared_layer], environment(properties))

    # Then the page and both assets are read from the package's own console folder
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout)
    assert Path(served["folder"]) == package / "console"
    assert served["page"] > 0
    assert set(served["assets"]) == {"console.js", "console.css"}
    assert all(size > 0 for size in served["assets"].values())
