"""`python -m local`'s flags and LOCAL_* environment variables, read into one Settings.

Flags win over environment variables, which win over the defaults.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from local.api_keys import NAME_RULE, is_key_name
from local.function_loader import HANDLER_REFERENCE, HANDLER_RULE
from local.hosted_function import RETENTION_PERIOD_DAYS
from local.usage_plan import DEFAULT_BURST, DEFAULT_QUOTA, DEFAULT_RATE

REPO_ROOT = Path(__file__).resolve().parent.parent
DESCRIPTION = "The whole product on this machine, no AWS account and no Docker."
DEFAULT_DURABLE_HANDLER = "durable_math:lambda_handler"
DEFAULT_DURABLE_PATH = REPO_ROOT / "functions" / "math_durable"
RETENTION_SECONDS = RETENTION_PERIOD_DAYS * 86400
Number = TypeVar("Number", int, float)


@dataclass(frozen=True)
class Settings:
    host: str
    expose_internal_endpoints: bool
    api_port: int
    lambda_port: int
    dynamodb_port: int
    store: str
    data_dir: Path
    api_workers: int
    reconcile_every: float
    retention_seconds: float
    control_plane_quotas: bool
    durable_handler: str
    durable_path: Path
    verbose: bool
    keys: KeyOptions
    webhooks_public_only: bool = False


@dataclass(frozen=True)
class KeyOptions:
    """The API key flags: names to add at start-up and the usage plan's limits."""

    add_names: tuple[str, ...] = ()
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    quota: int = DEFAULT_QUOTA


def port(value: str) -> int:
    """A TCP port to listen on: 0 (any free one) to 65535."""
    if not (value.isascii() and value.isdigit()) or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {value!r}")
    return int(value)


def positive_count(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {value!r}")
    return int(value)


def positive_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {value!r}")
    return number


def key_name(value: str) -> str:
    if not is_key_name(value):
        raise argparse.ArgumentTypeError(f"{NAME_RULE}, got {value!r}")
    return value


def seconds(value: str) -> float:
    """A period in seconds: 0 or more."""
    try:
        period = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {value!r}") from None
    if not 0 <= period <= 86400:
        raise argparse.ArgumentTypeError(f"must be from 0 to 86400 seconds, got {value!r}")
    return period


def handler_reference(value: str) -> str:
    if not HANDLER_REFERENCE.match(value):
        raise argparse.ArgumentTypeError(f"{HANDLER_RULE}, got {value!r}")
    return value


def _switch(name: str, default: bool) -> bool:
    """An on/off variable: 1/true/yes/on or 0/false/no/off; `default` when unset or empty."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


def _env_value(
    parser: argparse.ArgumentParser, name: str, default: Number, parse: Callable[[str], Number]
) -> Number:
    """The variable `name` read as a flag's value would be; `default` when unset or empty."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return parse(value)
    except argparse.ArgumentTypeError as error:
        parser.error(f"{name} {error}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description=DESCRIPTION)
    parser.add_argument(
        "--host",
        default=os.environ.get("LOCAL_HOST", "127.0.0.1"),
        help="address the API endpoint listens on (default 127.0.0.1; 0.0.0.0 or :: for every interface); "
        "the Lambda and DynamoDB endpoints stay on 127.0.0.1",
    )
    parser.add_argument(
        "--expose-internal-endpoints",
        action="store_true",
        default=_switch("LOCAL_EXPOSE_INTERNAL_ENDPOINTS", False),
        help="let the Lambda and DynamoDB endpoints listen on --host too: this exposes their unauthenticated "
        "APIs (every execution, every consumer's calculations) to whoever reaches that address "
        "(LOCAL_EXPOSE_INTERNAL_ENDPOINTS=on does the same)",
    )
    parser.add_argument("--api-port", type=port, help="API endpoint port (default 3000; 0: any free one)")
    parser.add_argument(
        "--lambda-port", type=port, help="Lambda endpoint port (default 3001; 0: any free one)"
    )
    parser.add_argument(
        "--dynamodb-port", type=port, help="DynamoDB endpoint port (default 3002; 0: any free one)"
    )
    parser.add_argument(
        "--store",
        choices=("sqlite", "memory"),
        default=os.environ.get("LOCAL_STORE", "sqlite"),
        help="where executions and the table live (default sqlite: both survive a restart; "
        "memory: both are lost on stop)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("LOCAL_DATA_DIR", REPO_ROOT / ".data")),
        help="folder of the SQLite store and the table's data (default .data in the repository)",
    )
    parser.add_argument(
        "--api-workers",
        type=positive_count,
        help="most API requests served at once: one process each, as Lambda environments, "
        "all started in the background at start-up",
    )
    parser.add_argument(
        "--reconcile-every",
        type=seconds,
        metavar="SECONDS",
        help="run the table's reconciler (functions/reconciler) at start-up and then every SECONDS "
        "(default 5; 0: never; LOCAL_RECONCILE_EVERY does the same)",
    )
    parser.add_argument(
        "--webhooks-public-only",
        action="store_true",
        default=_switch("LOCAL_WEBHOOKS_PUBLIC_ONLY", False),
        help="webhook URLs as deployed: https to public addresses only, loopback refused "
        "(default: http or https to loopback only; LOCAL_WEBHOOKS_PUBLIC_ONLY=on does the same)",
    )
    parser.add_argument(
        "--retention-seconds",
        type=positive_number,
        metavar="SECONDS",
        help=f"forget an execution and its table item this long after it ended, as Lambda's retention "
        f"and the table's TTL do deployed (default {RETENTION_SECONDS:g}: {RETENTION_PERIOD_DAYS} days; "
        "LOCAL_RETENTION_SECONDS does the same)",
    )
    parser.add_argument(
        "--no-control-plane-quotas",
        dest="control_plane_quotas",
        action="store_false",
        default=_switch("LOCAL_CONTROL_PLANE_QUOTAS", True),
        help="do not enforce AWS's default durable-execution control-plane rates on the Lambda endpoint "
        "(GetDurableExecution 30/s, GetDurableExecutionHistory 15/s, ListDurableExecutionsByFunction 15/s, "
        "StopDurableExecution 300/s; LOCAL_CONTROL_PLANE_QUOTAS=off does the same)",
    )
    parser.add_argument(
        "--durable-handler",
        type=handler_reference,
        default=os.environ.get("LOCAL_DURABLE_HANDLER", DEFAULT_DURABLE_HANDLER),
        help="host your own durable function on the Lambda endpoint, under the same name: "
        f"module:function, imported from --durable-path (default {DEFAULT_DURABLE_HANDLER})",
    )
    parser.add_argument(
        "--durable-path",
        type=Path,
        default=Path(os.environ.get("LOCAL_DURABLE_PATH", DEFAULT_DURABLE_PATH)),
        help="folder the durable handler's module is imported from (default functions/math_durable)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=_switch("LOCAL_VERBOSE", False),
        help="log every request, the functions' own logs and metrics, and their errors' tracebacks",
    )
    parser.add_argument(
        "--add-api-key",
        metavar="NAME",
        dest="add_api_keys",
        action="append",
        type=key_name,
        default=[],
        help=f"add an API key called NAME to the data folder's keys at start-up; a name that has "
        f"one already keeps it (repeatable; NAME {NAME_RULE})",
    )
    parser.add_argument(
        "--api-rate",
        type=positive_number,
        help=f"usage plan: steady requests per second per API key (default {DEFAULT_RATE:g})",
    )
    parser.add_argument(
        "--api-burst", type=positive_count, help=f"usage plan: burst per API key (default {DEFAULT_BURST})"
    )
    parser.add_argument(
        "--api-quota",
        type=positive_count,
        help=f"usage plan: requests per UTC day per API key (default {DEFAULT_QUOTA})",
    )
    # Read once every flag is known, so that an error shows the whole usage.
    parser.set_defaults(
        api_port=_env_value(parser, "LOCAL_API_PORT", 3000, port),
        lambda_port=_env_value(parser, "LOCAL_LAMBDA_PORT", 3001, port),
        dynamodb_port=_env_value(parser, "LOCAL_DYNAMODB_PORT", 3002, port),
        api_workers=_env_value(parser, "LOCAL_API_WORKERS", 8, positive_count),
        api_rate=_env_value(parser, "LOCAL_API_RATE", DEFAULT_RATE, positive_number),
        api_burst=_env_value(parser, "LOCAL_API_BURST", DEFAULT_BURST, positive_count),
        api_quota=_env_value(parser, "LOCAL_API_QUOTA", DEFAULT_QUOTA, positive_count),
        reconcile_every=_env_value(parser, "LOCAL_RECONCILE_EVERY", 5.0, seconds),
        retention_seconds=_env_value(parser, "LOCAL_RETENTION_SECONDS", RETENTION_SECONDS, positive_number),
    )
    return parser


def parse_settings(argv: list[str] | None = None) -> Settings:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.store not in ("sqlite", "memory"):
        parser.error(f"LOCAL_STORE must be sqlite or memory, got {args.store!r}")
    return Settings(
        host=args.host,
        expose_internal_endpoints=args.expose_internal_endpoints,
        api_port=args.api_port,
        lambda_port=args.lambda_port,
        dynamodb_port=args.dynamodb_port,
        store=args.store,
        data_dir=args.data_dir.resolve(),
        api_workers=args.api_workers,
        reconcile_every=args.reconcile_every,
        retention_seconds=args.retention_seconds,
        control_plane_quotas=args.control_plane_quotas,
        durable_handler=args.durable_handler,
        durable_path=args.durable_path.resolve(),
        verbose=args.verbose,
        keys=KeyOptions(
            tuple(dict.fromkeys(args.add_api_keys)), args.api_rate, args.api_burst, args.api_quota
        ),
        webhooks_public_only=args.webhooks_public_only,
    )
