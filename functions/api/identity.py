"""Who is calling: the owner of the calculations a request may see and act on."""

from typing import Any

from errors import NoCallerIdentity


def caller_owner(request_context: dict[str, Any] | None) -> str:
    """The caller as API Gateway identifies it, as an owner string.

    An authorizer's principal comes first, then an IAM caller, then the API key: with API keys
    only (the template), it is `key:<apiKeyId>`. The prefixes keep the kinds apart, so an API key
    id can never equal an IAM principal.
    """
    context = request_context or {}
    principal = (context.get("authorizer") or {}).get("principalId")
    if principal:
        return f"authorizer:{principal}"
    identity = context.get("identity") or {}
    if identity.get("userArn"):
        return f"iam:{identity['userArn']}"
    if identity.get("apiKeyId"):
        return f"key:{identity['apiKeyId']}"
    raise NoCallerIdentity
