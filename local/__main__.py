"""`python -m local`: the whole product on this machine, no AWS account and no Docker.

Starts the local Lambda endpoint (the durable function, in-process, on the testing package's
executor) and the local API endpoint (the API function, fed API Gateway proxy events), prints
where they are, and stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO

from local import hosted_function
from local.api_gateway import API_FUNCTION_NAME, ApiServer, FunctionPool
from local.runtime import DATABASE_FILE, DurableRuntime, Reopened

REPO_ROOT = Path(__file__).resolve().parent.parent
DURABLE_CODE = REPO_ROOT / "functions" / "math_durable"
API_CODE = REPO_ROOT / "functions" / "api"
API_HANDLER = "app.lambda_handler"
EXAMPLE = '{"num1": 10, "num2": 5}'
FUNCTION_REF = f"{hosted_function.FUNCTION_NAME}:{hosted_function.ALIAS}"
QUIET_LOGGERS = ("aws_durable_execution_sdk_python", "aws_durable_execution_sdk_python_testing")


@dataclass(frozen=True)
class Settings:
    host: str
    api_port: int
    lambda_port: int
    store: str
    data_dir: Path
    api_workers: int
    verbose: bool


def port(value: str) -> int:
    """A TCP port to listen on: 0 (any free one) to 65535."""
    if not (value.isascii() and value.isdigit()) or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {value!r}")
    return int(value)


def positive_count(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {value!r}")
    return int(value)


def _env_value(parser: argparse.ArgumentParser, name: str, default: int, parse: Callable[[str], int]) -> int:
    """The variable `name` read as a flag's value would be; `default` when unset or empty."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return parse(value)
    except argparse.ArgumentTypeError as error:
        parser.error(f"{name} {error}")


def parse_settings(argv: list[str] | None = None) -> Settings:
    """Flags win over environment variables, which win over the defaults."""
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("LOCAL_HOST", "127.0.0.1"), help="address to bind")
    parser.add_argument("--api-port", type=port, help="API endpoint port (default 3000; 0: any free one)")
    parser.add_argument(
        "--lambda-port", type=port, help="Lambda endpoint port (default 3001; 0: any free one)"
    )
    parser.add_argument(
        "--store",
        choices=("sqlite", "memory"),
        default=os.environ.get("LOCAL_STORE", "sqlite"),
        help="where executions live (default sqlite: they survive a restart)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("LOCAL_DATA_DIR", REPO_ROOT / ".data")),
        help="folder of the SQLite store (default .data in the repository)",
    )
    parser.add_argument(
        "--api-workers",
        type=positive_count,
        help="most API requests served at once: one process each, as Lambda environments, "
        "all started in the background at start-up",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=os.environ.get("LOCAL_VERBOSE", "").lower() in ("1", "true", "yes"),
        help="log every request and the functions' own logs",
    )
    # Read once every flag is known, so that an error shows the whole usage.
    parser.set_defaults(
        api_port=_env_value(parser, "LOCAL_API_PORT", 3000, port),
        lambda_port=_env_value(parser, "LOCAL_LAMBDA_PORT", 3001, port),
        api_workers=_env_value(parser, "LOCAL_API_WORKERS", 8, positive_count),
    )
    args = parser.parse_args(argv)
    if args.store not in ("sqlite", "memory"):
        parser.error(f"LOCAL_STORE must be sqlite or memory, got {args.store!r}")
    return Settings(
        host=args.host,
        api_port=args.api_port,
        lambda_port=args.lambda_port,
        store=args.store,
        data_dir=args.data_dir.resolve(),
        api_workers=args.api_workers,
        verbose=args.verbose,
    )


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # The package logs each execution's failure at ERROR: for a runtime that is news, not an error.
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    # The functions' Powertools loggers read this when they are imported.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO" if verbose else "ERROR")


def bind(server_class: type[ThreadingHTTPServer], host: str, port: int, what: str, flag: str, *args):
    try:
        return server_class((host, port), *args)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise SystemExit(
                f"error: port {port} on {host} is already in use, so the {what} cannot start.\n"
                f"Stop whatever holds it, or choose another port with {flag}."
            ) from error
        raise SystemExit(f"error: cannot listen on {host}:{port} for the {what}: {error.strerror}") from error


def lock_data_dir(data_dir: Path) -> IO[str]:
    """One runtime per data folder: two would both resume the same executions."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / ".lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        raise SystemExit(
            f"error: another local runtime is using {data_dir}. Stop it, or pass another --data-dir."
        ) from error
    return handle


def api_environment(lambda_url: str, verbose: bool) -> dict[str, str]:
    """What the API function finds in its environment: the local Lambda endpoint, by configuration only.

    The workers also inherit this process's environment, POWERTOOLS_LOG_LEVEL (configure_logging) included.
    """
    return {
        "MATH_FUNCTION_NAME": FUNCTION_REF,
        "AWS_ENDPOINT_URL_LAMBDA": lambda_url,
        "AWS_REGION": hosted_function.REGION,
        "AWS_DEFAULT_REGION": hosted_function.REGION,
        # Dummy credentials: botocore signs every call, and nothing here should use real ones.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "",
        "AWS_LAMBDA_FUNCTION_NAME": API_FUNCTION_NAME,
        "POWERTOOLS_SERVICE_NAME": os.environ.get("POWERTOOLS_SERVICE_NAME", API_FUNCTION_NAME),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DurableCalculations"),
        "POWERTOOLS_METRICS_DISABLED": "false" if verbose else "true",
    }


def connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0") else host


def banner(api_url: str, lambda_url: str, storage: str, reopened: Reopened) -> str:
    lines = [
        "Durable Calculations API is running locally.",
        f"  API endpoint     {api_url}",
        f"  Lambda endpoint  {lambda_url}   function {FUNCTION_REF}",
        f"  Executions       {storage}",
    ]
    if reopened.resumed:
        lines.append(f"  Resumed          {reopened.resumed} execution(s) that were in flight")
    if reopened.timed_out:
        lines.append(
            f"  Timed out        {reopened.timed_out} execution(s) whose timeout passed while it was stopped"
        )
    lines += [
        "Try:",
        f"  curl -i -X POST {api_url}/calculations -H 'content-type: application/json' -d '{EXAMPLE}'",
        f"  aws lambda invoke --endpoint-url {lambda_url} --function-name {FUNCTION_REF} \\",
        f"      --payload '{EXAMPLE}' --cli-binary-format raw-in-base64-out response.json",
        "Ctrl-C stops it.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    configure_logging(settings.verbose)

    # Imported after logging is set: the function's logger reads its level at import. Its folder
    # leaves the import path afterwards, so the API workers (which inherit the path) see only
    # their own package, as each function does in Lambda.
    sys.path.insert(0, str(DURABLE_CODE))
    try:
        from durable_math import lambda_handler
    finally:
        sys.path.remove(str(DURABLE_CODE))
    from local.lambda_api import LambdaServer

    lock = lock_data_dir(settings.data_dir) if settings.store == "sqlite" else None
    data_dir = settings.data_dir if settings.store == "sqlite" else None
    runtime = DurableRuntime(lambda_handler, data_dir)
    lambda_server = bind(
        LambdaServer, settings.host, settings.lambda_port, "Lambda endpoint", "--lambda-port", runtime
    )
    lambda_url = f"http://{connect_host(settings.host)}:{lambda_server.server_address[1]}"
    pool = FunctionPool(
        API_HANDLER,
        [str(API_CODE)],
        api_environment(lambda_url, settings.verbose),
        settings.api_workers,
    )
    api_server = bind(ApiServer, settings.host, settings.api_port, "API endpoint", "--api-port", pool)
    api_url = f"http://{connect_host(settings.host)}:{api_server.server_address[1]}"

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    reopened = runtime.open()
    threads = [
        threading.Thread(target=server.serve_forever, name=name, daemon=True)
        for name, server in (("lambda-endpoint", lambda_server), ("api-endpoint", api_server))
    ]
    for thread in threads:
        thread.start()
    pool.warm()
    storage = f"SQLite, {data_dir / DATABASE_FILE}" if data_dir else "in memory (lost on stop)"
    print(banner(api_url, lambda_url, storage, reopened), flush=True)

    stopping.wait()
    print("Stopping...", flush=True)
    api_server.shutdown()
    lambda_server.shutdown()
    api_server.server_close()
    lambda_server.server_close()
    pool.close()
    runtime.close()
    if lock is not None:
        lock.close()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
