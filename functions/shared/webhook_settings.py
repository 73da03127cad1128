"""The webhook settings more than one function reads: the webhooks table and the URL rules' switch."""

from typing import Any

from settings_reader import TABLE_NAME_PATTERN, setting

ON_OFF = r"^(on|off)$"


def webhooks_table() -> Any:
    return setting(
        "WEBHOOKS_TABLE_NAME",
        pattern=TABLE_NAME_PATTERN,
        rule="3-255 of A-Z a-z 0-9 _ . -",
        description="The webhooks table (DynamoDB): endpoints and deliveries",
    )


def allow_loopback() -> Any:
    return setting(
        "WEBHOOK_ALLOW_LOOPBACK",
        "off",
        pattern=ON_OFF,
        rule="on or off",
        description="on: webhooks may also go to loopback, over http too (the local runtime only)",
    )
