r"""Every use of Powertools' non-public members, in one place (tests/unit/test_powertools_internals.py
fails when a new Powertools version changes them; aws-lambda-powertools is pinned exactly).

- Request validation reads the body with `_get_body`, which fails with bare ValueErrors on some
  bodies before any middleware of ours runs (the resolver puts its validation first). The API
  checks the body before it, then has it parsed as JSON with `_parse_json_data` (`_get_body` reads
  `Application/JSON` as another media type): a public hook that runs before validation would let
  this go.
- Routes are compiled by `_compile_regex`, ending in `$`, which Python also matches before a final
  newline: `/calculations/c1%0A` was served as `c1`. ExactPathResolver ends them in `\Z`; a
  public way to set the route pattern would let it go.
- Powertools decides whether tracing is off with `Tracer._is_tracer_disabled` (tracing.py uses
  the same rule); a public `Tracer.is_disabled()` would let it go.
"""

import re
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)

from request_body import check_body_readable


class ExactPathResolver(APIGatewayRestResolver):
    """The REST resolver (trailing slashes allowed), routing a path only when a route matches all of it."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = r"^{}/*\Z") -> re.Pattern[str]:
        return ApiGatewayResolver._compile_regex(rule, base_regex)


class BodyReadingValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with the API's body check first."""

    def _get_body(self, app: APIGatewayRestResolver) -> dict[str, Any]:
        check_body_readable(app.current_event)
        # JSON, as the check found it: `_get_body` would compare the media type case-sensitively.
        return self._parse_json_data(app)


def validate_bodies_the_api_way(app: APIGatewayRestResolver) -> None:
    """Run the API's body check inside the resolver's request validation, on every validated route."""
    app._request_validation_middleware = BodyReadingValidation()


def tracing_disabled() -> bool:
    """Powertools' own rule: POWERTOOLS_TRACE_DISABLED, outside Lambda, SAM local or Chalice."""
    return bool(Tracer._is_tracer_disabled())
