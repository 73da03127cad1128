"""The start-up banner: written by the runtime, read by its clients (the tests, the bench).

Each endpoint's line starts with its label (`API endpoint`, `Lambda endpoint`, `DynamoDB`) and
holds its URL; the banner ends with READY_LINE once every endpoint listens.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from local import hosted_function

if TYPE_CHECKING:  # standard library only at run time: the tests and the bench read banners too
    from local.api_keys import ApiKey
    from local.command_line import KeyOptions
    from local.runtime import Reopened

EXAMPLE = '{"num1": 10, "num2": 5}'
FUNCTION_REF = f"{hosted_function.FUNCTION_NAME}:{hosted_function.ALIAS}"
READY_LINE = "Ctrl-C stops it."
_ENDPOINT_URL = re.compile(
    r"^\s+(?P<label>API|Lambda|DynamoDB)\b[^\n]*?(?P<url>http://(?:[\w.-]+|\[[0-9A-Fa-f:.]+\]):\d+)",
    re.MULTILINE,
)


def banner(
    urls: dict[str, str], storage: str, table_storage: str, reopened: Reopened, quotas: bool
) -> list[str]:
    """The start-up banner's lines; `urls` by endpoint: API, Lambda, DynamoDB."""
    api_url, lambda_url = urls["API"], urls["Lambda"]
    rates = "AWS default rates, --no-control-plane-quotas lifts them" if quotas else "no limits"
    lines = [
        "Durable Calculations API is running locally.",
        f"  API endpoint     {api_url}",
        f"  Lambda endpoint  {lambda_url}   function {FUNCTION_REF}",
        f"  DynamoDB         {urls['DynamoDB']}   table {hosted_function.TABLE_NAME}",
        f"  Executions       {storage}",
        f"  Table data       {table_storage}",
        f"  Control plane    {rates}",
    ]
    if reopened.resumed:
        lines.append(f"  Resumed          {reopened.resumed} execution(s) that were in flight")
    if reopened.timed_out:
        lines.append(
            f"  Timed out        {reopened.timed_out} execution(s) whose timeout passed while it was stopped"
        )
    return lines


def key_lines(keys: list[ApiKey], options: KeyOptions) -> list[str]:
    """The banner's lines about keys: each key's name and value, and the usage plan."""
    lines = [
        "  API keys         send one as x-api-key (every route but GET /swagger, /console and preflights)"
    ]
    lines += [f"    {key.name:<14} {key.value}" for key in keys] or [
        "    none: add one with --add-api-key NAME"
    ]
    lines.append(
        f"  Usage plan       {options.rate:g} requests/s, burst {options.burst}, "
        f"{options.quota} a day, per key"
    )
    return lines


def listening_lines(addresses: dict[str, str], exposed: bool) -> list[str]:
    """Where each endpoint's socket is bound (`addresses` by endpoint), and a warning when the
    internal ones (Lambda, DynamoDB) follow --host."""
    lines = [
        f"  Listening on     API {addresses['API']}, Lambda {addresses['Lambda']}, "
        f"DynamoDB {addresses['DynamoDB']}"
    ]
    if exposed:
        lines.append("  Exposed          Lambda and DynamoDB answer whoever reaches them, unauthenticated")
    return lines


def try_lines(api_url: str, lambda_url: str, keys: list[ApiKey]) -> list[str]:
    key_header = f" -H 'x-api-key: {keys[0].value}'" if keys else ""
    return [
        "Try:",
        f"  curl -i -X POST {api_url}/calculations{key_header} \\",
        f"      -H 'content-type: application/json' -d '{EXAMPLE}'",
        f"  aws lambda invoke --endpoint-url {lambda_url} --function-name {FUNCTION_REF} \\",
        f"      --payload '{EXAMPLE}' --cli-binary-format raw-in-base64-out response.json",
        READY_LINE,
    ]


def endpoint_urls(banner: str) -> dict[str, str]:
    """The endpoints' URLs a banner names, by label: {"API": ..., "Lambda": ..., "DynamoDB": ...}."""
    return {match["label"]: match["url"] for match in _ENDPOINT_URL.finditer(banner)}
