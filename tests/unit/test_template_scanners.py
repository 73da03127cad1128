"""checkov, the infrastructure-as-code scanner teams run before a template reaches an account.

checkov 3.3.30 and everything it installs are pinned in requirements-checkov.txt and installed into
a cached folder apart from the project's virtualenv (its boto3 pin conflicts with the functions'),
then run in a clean interpreter with `--skip-download`: no platform calls, only the bundled checks.

Every failed check fails the test. A finding the template does not fix is skipped in the resource's
`Metadata` with its reason, and the set of skips is asserted here, so a new skip is a reviewed change.
"""

import json
import os
from pathlib import Path
from typing import Any

import pytest

from isolated_python import installed_requirements, run_isolated

ROOT = Path(__file__).resolve().parents[2]
CHECKOV_REQUIREMENTS = Path(__file__).with_name("requirements-checkov.txt")

RUN_CHECKOV = """
from checkov.main import Checkov
sys.argv = ["checkov", *sys.argv[1:]]
sys.exit(Checkov(sys.argv[1:]).run())
"""

# What the template deliberately does not do, each with the reason in its Metadata.
EXPECTED_SKIPS = {
    ("CKV_AWS_117", "AWS::Serverless::Function.MathFunction"),
    ("CKV_AWS_117", "AWS::Serverless::Function.ApiFunction"),
    ("CKV_AWS_117", "AWS::Serverless::Function.StatusProjectorFunction"),
    ("CKV_AWS_117", "AWS::Serverless::Function.ReconcilerFunction"),
    ("CKV_AWS_116", "AWS::Serverless::Function.ApiFunction"),
    ("CKV_AWS_120", "AWS::Serverless::Api.CalculationsApi"),
    ("CKV_AWS_27", "AWS::SQS::Queue.MathFunctionDeadLetterQueue"),
    ("CKV_AWS_27", "AWS::SQS::Queue.StatusEventsDeadLetterQueue"),
    ("CKV_AWS_27", "AWS::SQS::Queue.ReconcilerDeadLetterQueue"),
    ("CKV_AWS_117", "AWS::Serverless::Function.WebhookDeliveryFunction"),
    ("CKV_AWS_27", "AWS::SQS::Queue.WebhookDeliveryDeadLetterQueue"),
}


@pytest.fixture(scope="module")
def checkov_report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    checkov = installed_requirements(CHECKOV_REQUIREMENTS, request.config.cache.mkdir("checkov"), "checkov")
    home = tmp_path_factory.mktemp("checkov-home")
    arguments = ["-f", str(ROOT / "template.yaml"), "--framework", "cloudformation", "--skip-download"]
    arguments += ["--output", "json", "--compact"]
    code = f"sys.argv[1:] = {arguments!r}"
    result = run_isolated(
        code + RUN_CHECKOV,
        [checkov],
        {"HOME": str(home), "TMPDIR": os.environ.get("TMPDIR", "/tmp"), "LOG_LEVEL": "WARNING"},
    )
    assert result.stdout.strip(), f"checkov printed no report:\n{result.stderr}"
    return json.loads(result.stdout)


def test_checkov_finds_nothing_in_the_template(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []
    assert checkov_report["summary"]["parsing_errors"] == 0
    assert checkov_report["summary"]["checkov_version"] == "3.3.30"


def test_checkov_skips_only_the_reviewed_exceptions_each_with_a_reason(
    checkov_report: dict[str, Any],
) -> None:
    skipped = checkov_report["results"]["skipped_checks"]

    assert {(check["check_id"], check["resource"]) for check in skipped} == EXPECTED_SKIPS
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment", "")) > 20, check["check_id"]
