"""The API's settings: read from the environment once per container, validated, cached."""

import os
import re
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calculation_records import RETENTION_DAYS_DEFAULT, RETENTION_DAYS_MAX, RETENTION_DAYS_MIN

# A qualified function name or alias ARN: `name:qualifier`, `account:function:name:qualifier`
# or `arn:aws:lambda:region:account:function:name:qualifier`. Durable functions refuse
# unqualified names, so the qualifier is required.
QUALIFIED_FUNCTION = re.compile(
    r"^(?P<function>(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?"
    r"[a-zA-Z0-9_-]{1,64})"
    r":(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]{1,128})$"
)

# The largest `limit` the API documents for GET /calculations.
PAGE_SIZE_CEILING = 100


class SettingsError(RuntimeError):
    """A required setting is missing or invalid: the function cannot serve requests."""


class Settings(BaseModel):
    """Every environment variable the API reads, with its default and its limits."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    math_function_name: Annotated[
        str,
        Field(
            alias="MATH_FUNCTION_NAME",
            description="Alias-qualified name or alias ARN of the durable function, e.g. math-durable:live",
        ),
    ]
    calculations_table_name: Annotated[
        str,
        Field(
            alias="CALCULATIONS_TABLE_NAME",
            min_length=3,
            max_length=255,
            pattern=r"^[A-Za-z0-9_.-]+$",
            description="The calculations table (DynamoDB), the API's read model",
        ),
    ]
    retention_period_days: Annotated[
        int,
        Field(
            alias="RETENTION_PERIOD_DAYS",
            ge=RETENTION_DAYS_MIN,
            le=RETENTION_DAYS_MAX,
            description="The durable function's RetentionPeriodInDays: an item expires with its execution",
        ),
    ] = RETENTION_DAYS_DEFAULT
    prefer_wait_max_seconds: Annotated[
        int,
        Field(
            alias="PREFER_WAIT_MAX_SECONDS",
            ge=0,
            le=25,
            description="Cap on `Prefer: wait=N`; API Gateway ends every request at 29 s",
        ),
    ] = 20
    cors_allow_origin: Annotated[
        str,
        Field(alias="CORS_ALLOW_ORIGIN", description="`*` or a comma-separated list of allowed origins"),
    ] = "*"
    list_default_limit: Annotated[int, Field(alias="LIST_DEFAULT_LIMIT", ge=1, le=PAGE_SIZE_CEILING)] = 20
    list_max_limit: Annotated[
        int,
        Field(
            alias="LIST_MAX_LIMIT",
            ge=1,
            le=PAGE_SIZE_CEILING,
            description="Largest page size; the spec documents the ceiling, so it may only be lowered",
        ),
    ] = PAGE_SIZE_CEILING
    max_body_bytes: Annotated[int, Field(alias="MAX_BODY_BYTES", ge=64, le=6 * 1024 * 1024)] = 16 * 1024
    cache_size: Annotated[
        int, Field(alias="CACHE_SIZE", ge=0, description="Finished histories kept per warm container")
    ] = 256
    finished_max_age_seconds: Annotated[
        int,
        Field(
            alias="FINISHED_MAX_AGE_SECONDS",
            ge=0,
            description="Cache-Control max-age for finished calculations (they never change)",
        ),
    ] = 86400
    retry_after_seconds: Annotated[int, Field(alias="RETRY_AFTER_SECONDS", ge=1, le=3600)] = 1
    metrics_namespace: Annotated[
        str, Field(alias="POWERTOOLS_METRICS_NAMESPACE", min_length=1, max_length=255)
    ] = "DurableCalculations"

    @field_validator("math_function_name")
    @classmethod
    def _qualified(cls, value: str) -> str:
        if not QUALIFIED_FUNCTION.match(value):
            raise ValueError(
                "must be an alias-qualified function name or ARN such as 'math-durable:live' "
                "(durable functions cannot be invoked unqualified)"
            )
        return value

    @model_validator(mode="after")
    def _limits_agree(self) -> "Settings":
        if self.list_default_limit > self.list_max_limit:
            raise ValueError("LIST_DEFAULT_LIMIT must not exceed LIST_MAX_LIMIT")
        return self

    @property
    def function_name(self) -> str:
        """The function without its qualifier, as the Lambda APIs take it beside `Qualifier`."""
        return QUALIFIED_FUNCTION.match(self.math_function_name)["function"]

    @property
    def qualifier(self) -> str:
        return QUALIFIED_FUNCTION.match(self.math_function_name)["qualifier"]

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allow_origin.split(",") if origin.strip()]


@cache
def get_settings() -> Settings:
    """The settings, validated on first use; a missing or bad variable names itself."""
    try:
        return Settings.model_validate(os.environ)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise SettingsError(f"invalid API settings: {problems}") from None
