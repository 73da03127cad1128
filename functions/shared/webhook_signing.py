"""Standard Webhooks v1 signatures: the secrets, and the three headers each attempt carries.

The signed content is `<webhook-id>.<webhook-timestamp>.<body>`, the exact bytes sent; the
signature is HMAC-SHA256 with the secret's raw bytes, base64, as `v1,<signature>`. Several
signatures (a secret being rotated out beside its successor) are separated by spaces, so a
receiver holding either secret verifies. Secrets are `whsec_` and the base64 of 24 to 64 random
bytes (here 32). Standard library only.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SECRET_BYTES_MIN, SECRET_BYTES_MAX = 24, 64
SIGNATURE_VERSION = "v1"


class InvalidSecret(ValueError):
    """A secret that is not `whsec_` and the base64 of 24 to 64 bytes."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"a webhook secret starts with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError as error:
        raise InvalidSecret("a webhook secret is base64 after its prefix") from error
    if not SECRET_BYTES_MIN <= len(key) <= SECRET_BYTES_MAX:
        raise InvalidSecret(f"a webhook secret holds {SECRET_BYTES_MIN} to {SECRET_BYTES_MAX} bytes")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of the body sent with this id and timestamp."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signed_headers(
    signing_secrets: list[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret given (newest first)."""
    if not signing_secrets:
        raise InvalidSecret("a webhook is signed with at least one secret")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in signing_secrets),
    }
