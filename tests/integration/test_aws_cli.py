"""The README's `aws lambda invoke` command, typed as a user would, against the local Lambda endpoint.

It needs AWS CLI version 2 (`--cli-binary-format` is a v2 flag): Debian's `awscli` package.
PyPI's `awscli` is version 1; with only that installed, these tests skip (and fail under CI).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from api_helpers import TEN_AND_FIVE, TEN_AND_ZERO, ZEROS
from system_tools import aws_cli_v2

DOCUMENTS = {
    '{"num1": 10, "num2": 5}': TEN_AND_FIVE,
    '{"num1": 10, "num2": 0}': TEN_AND_ZERO,
    "{}": ZEROS,
}


@pytest.fixture(scope="module")
def aws() -> str:
    return aws_cli_v2()


@pytest.mark.parametrize("payload", list(DOCUMENTS))
def test_readme_aws_lambda_invoke_writes_the_documented_answer(aws, lambda_url, tmp_path, payload):
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
    }
    environment.pop("AWS_PROFILE", None)

    command = (
        f"{aws} lambda invoke --endpoint-url {lambda_url} --function-name math-durable:live "
        f"--cli-binary-format raw-in-base64-out response.json"
    ).split()
    completed = subprocess.run(
        [*command[:-1], "--payload", payload, command[-1]],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["StatusCode"] == 200
    assert json.loads((tmp_path / "response.json").read_text()) == DOCUMENTS[payload]
