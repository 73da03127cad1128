"""`python -m local`: the whole product on this machine, no AWS account and no Docker.

Starts the table's twin (dynalite), the local Lambda endpoint (the durable function, in-process,
on the testing package's executor, its status-change events delivered to the status projector
in worker processes of its own), the local API endpoint (the API function, fed API Gateway proxy
events) and the table's reconciler (in-process, every few seconds), prints where they are, and
stops cleanly on Ctrl-C or SIGTERM. Flags: local/command_line.py.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import signal
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO

from calculation_records import KEY_SCHEMA
from local import hosted_function
from local.addresses import LOOPBACK, local_url, socket_address
from local.api_gateway import API_FUNCTION_NAME, ApiServer
from local.api_keys import KeysFileError, open_keys
from local.banner import FUNCTION_REF, banner, key_lines, listening_lines, try_lines
from local.command_line import REPO_ROOT, parse_settings
from local.control_plane_quotas import ControlPlaneQuotas
from local.damaged_state import DamagedStateError, empty_store_warning
from local.dynamodb_twin import DynamoDBTwin, TwinError
from local.environment import set_variables
from local.file_modes import make_private
from local.function_loader import HandlerLoadError, load_handler
from local.function_pool import FunctionError, FunctionPool
from local.hosted_function import RETENTION_PERIOD_DAYS, TABLE_NAME
from local.key_gate import KeyGate
from local.retention import RetentionSweeper
from local.runtime import DATABASE_FILE, DurableRuntime
from local.table_reconciler import TableReconciler
from local.usage_plan import UsagePlan
from local.webhook_hosting import (
    WEBHOOK_CODE,
    WEBHOOK_HANDLER,
    WEBHOOKS_TABLE,
    HostedRuntimes,
    delivery_runtime,
    webhook_environment,
    webhook_lines,
)
from webhook_records import KEY_SCHEMA as WEBHOOKS_KEY_SCHEMA

API_CODE = REPO_ROOT / "functions" / "api"
API_HANDLER = "app:lambda_handler"
PROJECTOR_CODE = REPO_ROOT / "functions" / "status_projector"
PROJECTOR_HANDLER = "status_projector:lambda_handler"
# Environments of the projector: two keep both cores busy when events queue up (a restart's backlog).
PROJECTOR_WORKERS = 2
RECONCILER_CODE = REPO_ROOT / "functions" / "reconciler"
RECONCILER_HANDLER = "reconciler:lambda_handler"
QUIET_LOGGERS = ("aws_durable_execution_sdk_python", "aws_durable_execution_sdk_python_testing")


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
    set_variables({"POWERTOOLS_LOG_LEVEL": "INFO" if verbose else "ERROR"}, keep_existing=True)


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


def warn_if_store_empty_beside_table(runtime: DurableRuntime, twin: DynamoDBTwin) -> None:
    """Warn when the execution store is empty but the table is not (executions.db replaced or emptied)."""
    assert twin.path is not None
    database = twin.path.parent / DATABASE_FILE
    executions = runtime.store.count()
    warning = empty_store_warning(database, executions, str(twin.path), twin.holds_items())
    if warning:
        logging.getLogger("local").warning("%s", warning)


def function_environment(dynamodb_url: str) -> dict[str, str]:
    """What every function finds in its environment: the table's twin, by configuration only.

    Set in this process, where the durable function runs, with AWS_ENDPOINT_URL_LAMBDA once the
    Lambda endpoint is bound; the projector's and the API's worker processes inherit it.
    """
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "CALCULATIONS_TABLE_NAME": TABLE_NAME,
        "RETENTION_PERIOD_DAYS": str(RETENTION_PERIOD_DAYS),
        "AWS_REGION": hosted_function.REGION,
        "AWS_DEFAULT_REGION": hosted_function.REGION,
        # Dummy credentials: botocore signs every call, and nothing here should use real ones.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "",
    }


def api_environment(verbose: bool) -> dict[str, str]:
    """What the API function alone finds in its environment (on top of function_environment)."""
    return {
        "MATH_FUNCTION_NAME": FUNCTION_REF,
        "AWS_LAMBDA_FUNCTION_NAME": API_FUNCTION_NAME,
        "POWERTOOLS_SERVICE_NAME": os.environ.get("POWERTOOLS_SERVICE_NAME", API_FUNCTION_NAME),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "DurableCalculations"),
        "POWERTOOLS_METRICS_DISABLED": "false" if verbose else "true",
    }


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    configure_logging(settings.verbose)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    # Only the API endpoint follows --host: the Lambda and DynamoDB endpoints have no authentication.
    internal_host = settings.host if settings.expose_internal_endpoints else LOOPBACK
    with contextlib.ExitStack() as cleanup:
        data_dir = settings.data_dir if settings.store == "sqlite" else None
        if data_dir is not None:
            make_private(data_dir)
            cleanup.callback(lock_data_dir(data_dir).close)
        # A twin that cannot be restarted stops the runtime, which then exits with its reason.
        tables = {TABLE_NAME: KEY_SCHEMA, WEBHOOKS_TABLE: WEBHOOKS_KEY_SCHEMA}
        twin = DynamoDBTwin(internal_host, settings.dynamodb_port, data_dir, tables, stopping.set)
        cleanup.callback(twin.stop)
        try:
            dynamodb_url = twin.start()
        except TwinError as error:
            raise SystemExit(f"error: {error}") from error

        # Logging is set first: the functions' loggers read their level at import. They create
        # their clients on first use, once the environment names every endpoint.
        from local.lambda_api import LambdaServer
        from local.status_events import TARGET_TIMEOUT_SECONDS, StatusEventBus

        set_variables(function_environment(dynamodb_url))
        set_variables(webhook_environment(settings.webhooks_public_only))
        try:
            durable_handler = load_handler(settings.durable_handler, settings.durable_path)
            webhook_handler = load_handler(WEBHOOK_HANDLER, WEBHOOK_CODE)
        except HandlerLoadError as error:
            raise SystemExit(f"error: {error}") from error
        try:
            runtime = DurableRuntime(durable_handler, data_dir)
            deliveries = delivery_runtime(webhook_handler, data_dir)
        except DamagedStateError as error:
            raise SystemExit(f"error: {error}") from error
        if data_dir is not None:
            warn_if_store_empty_beside_table(runtime, twin)
        quotas = ControlPlaneQuotas(settings.control_plane_quotas)
        lambda_server = bind(
            LambdaServer,
            internal_host,
            settings.lambda_port,
            "Lambda endpoint",
            "--lambda-port",
            HostedRuntimes(runtime, deliveries),
            quotas,
        )
        lambda_url = local_url(lambda_server.server_address)
        set_variables({"AWS_ENDPOINT_URL_LAMBDA": lambda_url})
        projectors = FunctionPool(
            PROJECTOR_HANDLER,
            PROJECTOR_CODE,
            {},
            PROJECTOR_WORKERS,
            function="the status projector",
            process_name="projector",
            tracebacks=settings.verbose,
        )
        cleanup.callback(projectors.close)
        try:
            projectors.start_one()
        except FunctionError as error:
            raise SystemExit(f"error: {error}") from error
        projectors.warm()
        # The runtime's store is the events' outbox: what a previous run left is delivered now.
        events = StatusEventBus(
            lambda event, context: projectors.invoke(event, context.fields(), TARGET_TIMEOUT_SECONDS),
            runtime.store,
        )
        pool = FunctionPool(
            API_HANDLER,
            API_CODE,
            api_environment(settings.verbose),
            settings.api_workers,
            tracebacks=settings.verbose,
        )
        try:
            keys = open_keys(data_dir, settings.keys.add_names)
        except KeysFileError as error:
            raise SystemExit(f"error: {error}") from error
        plan = UsagePlan(settings.keys.rate, settings.keys.burst, settings.keys.quota)
        gate = KeyGate(keys, plan)
        api_server = bind(
            ApiServer, settings.host, settings.api_port, "API endpoint", "--api-port", pool, gate
        )
        api_url = local_url(api_server.server_address)

        reopened = runtime.open()
        reopened_deliveries = deliveries.open()
        for close in (
            runtime.close,
            deliveries.close,
            events.close,
            pool.close,
            lambda_server.server_close,
            api_server.server_close,
        ):
            cleanup.callback(close)
        for name, server in (("lambda-endpoint", lambda_server), ("api-endpoint", api_server)):
            threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
            cleanup.callback(server.shutdown)
        pool.warm()
        sweeper = RetentionSweeper(runtime, settings.retention_seconds)
        sweeper.start()
        cleanup.callback(sweeper.close)
        if settings.reconcile_every > 0:
            # The reconciler's own variable, as the template sets it.
            set_variables({"MATH_FUNCTION_NAME": FUNCTION_REF})
            handler = load_handler(RECONCILER_HANDLER, RECONCILER_CODE)
            reconciler = TableReconciler(handler, settings.reconcile_every)
            reconciler.start()
            cleanup.callback(reconciler.close)
        urls = {"API": api_url, "Lambda": lambda_url, "DynamoDB": dynamodb_url}
        storage = f"SQLite, {data_dir / DATABASE_FILE}" if data_dir else "in memory (lost on stop)"
        table_storage = f"dynalite, {twin.path}" if twin.path else "dynalite in memory (lost on stop)"
        lines = banner(urls, storage, table_storage, reopened, settings.control_plane_quotas)
        listening = {
            "API": socket_address(api_server.server_address),
            "Lambda": socket_address(lambda_server.server_address),
            "DynamoDB": socket_address((twin.host, twin.port)),
        }
        lines += listening_lines(listening, settings.expose_internal_endpoints)
        lines += key_lines(keys, settings.keys)
        lines += webhook_lines(settings.webhooks_public_only, reopened_deliveries)
        print("\n".join([*lines, *try_lines(api_url, lambda_url, keys)]), flush=True)

        # A signal the kernel hands to another thread only sets a flag that the main thread reads
        # between bytecodes: an untimed wait here could miss it for good.
        while not stopping.wait(timeout=0.5):
            pass
        print("Stopping...", flush=True)
        if twin.failure:
            raise SystemExit(f"error: {twin.failure}")
        # The stack unwinds in reverse: endpoints stop taking requests, then the API workers, the
        # events still due (the rest stay in the outbox), the executions, and last the table.
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
