"""The functions the local Lambda endpoint hosts (the durable calculation and the webhook delivery),
how callers may name them, and the table's name.

Standard library only at import: the API endpoint's event building (and the bench's cold-start
probe, which imports it before starting its clock) reads these names without loading the testing
package, whose import brings boto3 and its runners.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
FUNCTION_NAME = "math-durable"
# The webhook delivery function (functions/webhook_delivery), hosted beside it.
WEBHOOK_FUNCTION_NAME = "webhook-delivery"
FUNCTION_NAMES = (FUNCTION_NAME, WEBHOOK_FUNCTION_NAME)
ALIAS = "live"
# The alias points at the one published version; `$LATEST` runs the same code.
ALIAS_VERSION = "1"
LATEST = "$LATEST"
# The calculations table the local DynamoDB endpoint holds (template.yaml's CalculationsTable).
TABLE_NAME = "calculations"
# How long ended executions stay readable (template.yaml's RetentionPeriodInDays, locally).
RETENTION_PERIOD_DAYS = 7

# Lambda's own pattern for a function name, partial ARN or full ARN, with an optional qualifier.
_FUNCTION_REF = re.compile(
    r"^(?:arn:aws:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[A-Za-z0-9_.-]+)(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]+))?$"
)


def function_arn(version: str | None = None, name: str = FUNCTION_NAME) -> str:
    base = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
    return f"{base}:{version}" if version else base


def execution_arn_prefix(version: str, name: str = FUNCTION_NAME) -> str:
    return f"{function_arn(version, name)}/durable-execution/"


@dataclass(frozen=True)
class FunctionRef:
    """A resolved reference: the function and the version a qualifier names (None: any)."""

    name: str
    version: str | None


def resolve(identifier: str, qualifier: str | None = None, *, default_latest: bool = True) -> FunctionRef:
    """Resolve a FunctionName (plain, `name:qualifier` or ARN) and an optional Qualifier.

    Raises ResourceNotFoundException for any other function, alias or version, and
    InvalidParameterValueException when the name's qualifier and `qualifier` disagree.
    With `default_latest` an unqualified name means `$LATEST` (Invoke); otherwise any version.
    """
    from aws_durable_execution_sdk_python_testing.exceptions import (
        InvalidParameterValueException,
        ResourceNotFoundException,
    )

    match = _FUNCTION_REF.match(identifier)
    if not match:
        raise InvalidParameterValueException(f"Invalid function name: {identifier}")
    if match["region"] not in (None, REGION) or match["account"] not in (None, ACCOUNT_ID):
        raise ResourceNotFoundException(f"Function not found: {identifier}")
    name = match["name"]
    if name not in FUNCTION_NAMES:
        raise ResourceNotFoundException(f"Function not found: {function_arn(name=name)}")
    named = match["qualifier"]
    if named and qualifier and named != qualifier:
        raise InvalidParameterValueException(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    wanted = named or qualifier
    if wanted is None:
        return FunctionRef(name, LATEST if default_latest else None)
    if wanted == LATEST:
        return FunctionRef(name, LATEST)
    if wanted in (ALIAS, ALIAS_VERSION):
        return FunctionRef(name, ALIAS_VERSION)
    raise ResourceNotFoundException(f"Function not found: {function_arn(wanted, name)}")
