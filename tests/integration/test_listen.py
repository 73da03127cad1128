"""`make listen`: the receiver a consumer runs on the laptop prints what it verifies, and only that."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

from runtime_process import REPO_ROOT
from webhook_receiver import closed_port

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
BODY = '{"type":"webhook.ping","timestamp":"2026-12-01T12:00:00.000000Z","data":{"endpointId":"ep_1"}}'


def signed(message_id: str, secret: str = SECRET) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, BODY),
        "content-type": "application/json",
    }


def test_listen_prints_verified_events_and_refuses_others(tmp_path):
    # Given `make listen` on a free loopback port
    port = closed_port()
    log = (tmp_path / "listen.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.listen_webhooks", "--secret", SECRET, "--port", str(port)],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 20
        while "listening on" not in (tmp_path / "listen.log").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)

        # When a signed event arrives, and one signed with another secret
        good = requests.post(url, data=BODY, headers=signed("msg_good"), timeout=10)
        bad = requests.post(url, data=BODY, headers=signed("msg_bad", "whsec_" + "A" * 43 + "="), timeout=10)
        time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()

    # Then the first is printed with its id and acknowledged, the second refused
    output = (tmp_path / "listen.log").read_text()
    assert (good.status_code, bad.status_code) == (204, 400)
    assert '{"webhook-id": "msg_good", "type": "webhook.ping"' in output
    assert "refused msg_bad" in output
