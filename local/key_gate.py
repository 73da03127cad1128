"""The check the deployed stage makes before calling the API: a known API key, then the usage plan.

As deployed (template.yaml: Auth ApiKeyRequired, AddApiKeyRequiredToCorsPreflight false, the
Swagger and console routes ApiKeyRequired false), every request needs a known key in `x-api-key`
except `GET /swagger`, `GET /console` (and its assets) and CORS preflights (OPTIONS); a request with
one then passes the usage plan.
"""

from __future__ import annotations

from collections.abc import Iterable

from local.api_keys import ApiKey
from local.usage_plan import UsagePlan

INVALID_API_KEY = "INVALID_API_KEY"


class Refused(Exception):
    """The gateway answers this request itself with the gateway response `response_type`."""

    def __init__(self, response_type: str) -> None:
        super().__init__(response_type)
        self.response_type = response_type


class KeyGate:
    """What the deployed stage checks before the API function runs: the key, then the usage plan."""

    def __init__(self, keys: Iterable[ApiKey], plan: UsagePlan) -> None:
        self._by_value = {key.value: key for key in keys}
        self._plan = plan

    def admit(self, method: str, resource: str, api_key: str | None) -> ApiKey | None:
        """The caller's key (None on a route that needs none); Refused when the gateway answers."""
        if method == "OPTIONS" or (method == "GET" and resource.startswith(("/swagger", "/console"))):
            return None
        key = self._by_value.get(api_key) if api_key is not None else None
        if key is None:
            raise Refused(INVALID_API_KEY)
        refusal = self._plan.admit(key.id)
        if refusal is not None:
            raise Refused(refusal)
        return key
