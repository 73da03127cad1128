"""The webhook routes' settings, read once per container on the first webhook request.

Apart from settings.py so that the calculation routes run without them (a stack or a test
without webhooks); the same reader and rules.
"""

import re
from dataclasses import dataclass
from functools import cache

from settings import QUALIFIED_FUNCTION
from settings_reader import read_settings, setting
from webhook_settings import address_rules, webhooks_table


@dataclass(frozen=True)
class WebhookSettings:
    webhooks_table_name: str = webhooks_table()
    webhook_function_name: str = setting(
        "WEBHOOK_FUNCTION_NAME",
        description="Alias-qualified name or alias ARN of the delivery function, e.g. webhook-delivery:live",
    )
    address_rules: str = address_rules()

    def __post_init__(self) -> None:
        if not re.match(QUALIFIED_FUNCTION, self.webhook_function_name):
            raise ValueError("WEBHOOK_FUNCTION_NAME must be an alias-qualified function name or ARN")


@cache
def get_webhook_settings() -> WebhookSettings:
    return read_settings(WebhookSettings)
