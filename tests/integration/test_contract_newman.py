"""The Postman collection, run by newman (pinned in package-lock.json) against the API under test."""

from __future__ import annotations

import json
import subprocess

import requests

from runtime_process import REPO_ROOT

NEWMAN = REPO_ROOT / "node_modules" / ".bin" / "newman"
COLLECTION = REPO_ROOT / "postman" / "calculations.postman_collection.json"
ENVIRONMENT = REPO_ROOT / "postman" / "local.postman_environment.json"


def test_postman_collection_passes_with_newman(api_url: str, api: requests.Session, tmp_path, report):
    assert NEWMAN.exists(), "newman is not installed: `make install` runs `npm ci`"
    export = tmp_path / "newman.json"

    result = subprocess.run(
        [
            str(NEWMAN),
            "run",
            str(COLLECTION),
            "--environment",
            str(ENVIRONMENT),
            "--env-var",
            f"baseUrl={api_url}",
            "--env-var",
            f"apiKey={api.headers['x-api-key']}",
            "--timeout-request",
            "35000",
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(export),
            "--color",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    stats = json.loads(export.read_text(encoding="utf-8"))["run"]["stats"]
    report(
        "newman",
        f"newman: {stats['requests']['total']} requests, {stats['assertions']['total']} assertions, "
        f"{stats['assertions']['failed']} failed",
    )

    assert result.returncode == 0, result.stdout[-20000:] + result.stderr
    assert stats["assertions"]["failed"] == 0
    assert stats["requests"]["failed"] == 0
    # Every request ran (polling repeats some): the three flows, idempotency, the 422, the 404 and
    # the webhook endpoints.
    assert stats["requests"]["total"] >= 24
    assert stats["assertions"]["total"] >= 46
