"""The webhook settings more than one function reads: the webhooks table and which URL rules apply."""

from typing import Any

from settings_reader import TABLE_NAME_PATTERN, setting


def webhooks_table() -> Any:
    return setting(
        "WEBHOOKS_TABLE_NAME",
        pattern=TABLE_NAME_PATTERN,
        rule="3-255 of A-Z a-z 0-9 _ . -",
        description="The webhooks table (DynamoDB): endpoints and deliveries",
    )


def address_rules() -> Any:
    return setting(
        "WEBHOOK_ADDRESSES",
        "public",
        pattern=r"^(public|loopback)$",
        rule="public or loopback",
        description="public: https to public addresses only (deployed); loopback: this machine only (local)",
    )
