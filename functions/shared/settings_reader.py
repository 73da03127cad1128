"""How every function reads its settings: from the environment, once per container, validated,
with no silent fallbacks. Standard library only (the layer serves functions without pydantic).

A function declares its settings as a frozen dataclass whose fields are `setting(...)`s (the
variable, its default and its limits) and reads them with `read_settings`, cached by the
function. Any problem, for every variable at once, is one SettingsError naming the variables.
The settings two functions share are declared here once: `calculations_table`,
`math_function_name` and `retention_period_days`.
"""

import dataclasses
import os
import re
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from calculation_records import RETENTION_DAYS_DEFAULT, RETENTION_DAYS_MAX, RETENTION_DAYS_MIN

Settings = TypeVar("Settings")
REQUIRED = dataclasses.MISSING
TABLE_NAME_PATTERN = r"^[A-Za-z0-9_.-]{3,255}$"
# A qualified function name or alias ARN: `name:qualifier`, `account:function:name:qualifier`
# or `arn:aws:lambda:region:account:function:name:qualifier`. Durable functions refuse
# unqualified names, so the qualifier is required.
QUALIFIED_FUNCTION_PATTERN = (
    r"^(?P<function>(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?"
    r"[a-zA-Z0-9_-]{1,64})"
    r":(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128})$"
)


class SettingsError(ValueError):
    """A setting is missing or invalid: the function cannot run."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """One environment variable: its name and the limits of its value."""

    variable: str
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    rule: str = ""
    """What a valid text is, said in the error (with `pattern`)."""
    description: str = ""


def setting(variable: str, default: Any = REQUIRED, **limits: Any) -> Any:
    """A settings field read from `variable`; without a default, the variable is required."""
    return dataclasses.field(default=default, metadata={"setting": Rule(variable, **limits)})


def calculations_table(default: Any = REQUIRED) -> Any:
    return setting(
        "CALCULATIONS_TABLE_NAME",
        default,
        pattern=TABLE_NAME_PATTERN,
        rule="3-255 of A-Z a-z 0-9 _ . -",
        description="The calculations table (DynamoDB), the read model",
    )


def math_function_name() -> Any:
    return setting(
        "MATH_FUNCTION_NAME",
        pattern=QUALIFIED_FUNCTION_PATTERN,
        rule="an alias-qualified function name or ARN such as 'math-durable:live' "
        "(durable functions cannot be invoked unqualified)",
        description="Alias-qualified name or alias ARN of the durable function, e.g. math-durable:live",
    )


def retention_period_days() -> Any:
    return setting(
        "RETENTION_PERIOD_DAYS",
        RETENTION_DAYS_DEFAULT,
        minimum=RETENTION_DAYS_MIN,
        maximum=RETENTION_DAYS_MAX,
        description="The durable function's RetentionPeriodInDays: an item expires with its execution",
    )


def read_settings(cls: type[Settings], environ: Mapping[str, str] | None = None) -> Settings:
    """`cls` from the environment; SettingsError naming every variable that is missing or invalid.

    An empty variable is unset only for a setting whose default is None. The class may check
    its values together in `__post_init__` (a ValueError becomes a SettingsError).
    """
    environ = os.environ if environ is None else environ
    types = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        rule: Rule = field.metadata["setting"]
        text = environ.get(rule.variable)
        if text is None or (text == "" and field.default is None):
            if field.default is REQUIRED:
                problems.append(f"{rule.variable} is required")
            continue
        try:
            values[field.name] = _parse(rule, text, int if types[field.name] is int else str)
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise SettingsError("; ".join(problems))
    try:
        return cls(**values)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def _parse(rule: Rule, text: str, kind: type) -> Any:
    if kind is int:
        low = "" if rule.minimum is None else f" from {rule.minimum}"
        high = "" if rule.maximum is None else f" to {rule.maximum}"
        wanted = f"{rule.variable} must be a whole number{low}{high}, got {text!r}"
        if not (text.isascii() and text.isdigit()):
            raise ValueError(wanted)
        number = int(text)
        if (rule.minimum is not None and number < rule.minimum) or (
            rule.maximum is not None and number > rule.maximum
        ):
            raise ValueError(wanted)
        return number
    if rule.pattern is not None and not re.match(rule.pattern, text):
        raise ValueError(f"{rule.variable} must be {rule.rule}, got {text!r}")
    return text
