"""The API's settings: every environment variable it reads, read once per container (settings_reader)."""

import re
from dataclasses import dataclass
from functools import cache

from settings_reader import (
    QUALIFIED_FUNCTION_PATTERN,
    SettingsError,
    calculations_table,
    math_function_name,
    read_settings,
    retention_period_days,
    setting,
)

__all__ = ["PAGE_SIZE_CEILING", "RETRY_AFTER_MAX_SECONDS", "Settings", "SettingsError", "get_settings"]

QUALIFIED_FUNCTION = re.compile(QUALIFIED_FUNCTION_PATTERN)

# The largest `limit` the API documents for GET /calculations.
PAGE_SIZE_CEILING = 100
# The longest Retry-After the API sends; AWS's own retryAfterSeconds is capped to it.
RETRY_AFTER_MAX_SECONDS = 3600
# API Gateway ends every request at 29 s: a wait must end well before.
PREFER_WAIT_CEILING_SECONDS = 25


@dataclass(frozen=True)
class Settings:
    """Every environment variable the API reads, with its default and its limits."""

    math_function_name: str = math_function_name()
    calculations_table_name: str = calculations_table()
    retention_period_days: int = retention_period_days()
    prefer_wait_max_seconds: int = setting(
        "PREFER_WAIT_MAX_SECONDS",
        20,
        minimum=0,
        maximum=PREFER_WAIT_CEILING_SECONDS,
        description="Cap on `Prefer: wait=N`",
    )
    cors_allow_origin: str = setting(
        "CORS_ALLOW_ORIGIN", "*", description="`*` or a comma-separated list of allowed origins"
    )
    list_default_limit: int = setting("LIST_DEFAULT_LIMIT", 20, minimum=1, maximum=PAGE_SIZE_CEILING)
    list_max_limit: int = setting(
        "LIST_MAX_LIMIT",
        PAGE_SIZE_CEILING,
        minimum=1,
        maximum=PAGE_SIZE_CEILING,
        description="Largest page size; the spec documents the ceiling, so it may only be lowered",
    )
    max_body_bytes: int = setting("MAX_BODY_BYTES", 16 * 1024, minimum=64, maximum=6 * 1024 * 1024)
    cache_size: int = setting(
        "CACHE_SIZE", 256, minimum=0, description="Finished histories kept per warm container"
    )
    finished_max_age_seconds: int = setting(
        "FINISHED_MAX_AGE_SECONDS",
        86400,
        minimum=0,
        description="Cache-Control max-age for finished calculations (they never change)",
    )
    retry_after_seconds: int = setting("RETRY_AFTER_SECONDS", 1, minimum=1, maximum=RETRY_AFTER_MAX_SECONDS)
    metrics_namespace: str = setting(
        "POWERTOOLS_METRICS_NAMESPACE", "DurableCalculations", pattern=r"^.{1,255}$", rule="1-255 characters"
    )

    def __post_init__(self) -> None:
        if self.list_default_limit > self.list_max_limit:
            raise ValueError("LIST_DEFAULT_LIMIT must not exceed LIST_MAX_LIMIT")

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
    return read_settings(Settings)
