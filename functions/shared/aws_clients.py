"""How every function creates its AWS clients: one configuration, created on first use, reused.

Endpoints, credentials and region come from the standard AWS configuration only
(AWS_ENDPOINT_URL_<SERVICE> reaches the local twins). Each call: at most 2 s to connect and
5 s to read; `attempts` bounds botocore's standard retries where a caller's deadline needs it.
"""

from typing import Any

import boto3
from botocore.config import Config

CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5
USER_AGENT = "durable-calculations-api"


def create_client(service: str, read_timeout: int = READ_TIMEOUT_SECONDS, attempts: int | None = None) -> Any:
    """A boto3 client of `service`; `attempts` caps every call's attempts (standard retry mode)."""
    retries = {"mode": "standard", "total_max_attempts": attempts} if attempts is not None else None
    return boto3.client(
        service,
        config=Config(
            retries=retries,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=read_timeout,
            user_agent_extra=USER_AGENT,
        ),
    )
