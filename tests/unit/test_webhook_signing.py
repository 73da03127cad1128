"""Webhook signatures, verified by the `standardwebhooks` library (another implementation), not by ours."""

import base64
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhook_signing import InvalidSecret, new_secret, signed_headers

BODY = json.dumps({"type": "calculation.succeeded", "timestamp": "2026-12-01T12:00:00Z", "data": {}}).encode()


def now() -> int:
    """The library checks the timestamp against its own clock (5 minutes either way)."""
    return int(time.time())


def verify(secret: str, headers: dict[str, str], body: bytes) -> dict:
    return Webhook(secret).verify(body, headers)


def test_a_new_secret_is_whsec_and_the_base64_of_32_random_bytes():
    secret = new_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_the_reference_library_verifies_what_we_sign():
    secret = new_secret()

    timestamp = now()

    headers = signed_headers([secret], "msg_1", timestamp, BODY)

    assert verify(secret, headers, BODY)["type"] == "calculation.succeeded"
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(timestamp)


def test_a_known_secret_gives_the_signature_written_out():
    secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"  # bytes 0 to 23

    headers = signed_headers([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')

    assert headers["webhook-signature"] == "v1,/485aUtxlie+TIScVpHggMfqOB4so2KWb7+Gf727B44="


def test_a_changed_body_does_not_verify():
    secret = new_secret()
    headers = signed_headers([secret], "msg_1", now(), BODY)

    with pytest.raises(WebhookVerificationError):
        verify(secret, headers, BODY.replace(b"succeeded", b"failed__"))


def test_during_a_rotation_either_secret_verifies():
    old, new = new_secret(), new_secret()

    headers = signed_headers([new, old], "msg_1", now(), BODY)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(old, headers, BODY)["data"] == {}
    assert verify(new, headers, BODY)["data"] == {}
    with pytest.raises(WebhookVerificationError):
        verify(new_secret(), headers, BODY)


@pytest.mark.parametrize(
    "secret",
    [
        "sk_" + base64.b64encode(bytes(32)).decode(),
        "whsec_not base64!",
        "whsec_" + base64.b64encode(bytes(16)).decode(),
    ],
)
def test_a_secret_that_is_not_whsec_base64_of_24_to_64_bytes_is_refused(secret):
    with pytest.raises(InvalidSecret):
        signed_headers([secret], "msg_1", now(), BODY)
