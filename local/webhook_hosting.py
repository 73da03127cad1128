"""The webhook delivery function on the local Lambda endpoint, beside the durable calculation function.

It runs on its own DurableRuntime (its own executions, in their own SQLite file, resumed at
start-up like the calculations'), under the name `webhook-delivery` and alias `live`, as
template.yaml deploys it. `HostedRuntimes` is what the Lambda endpoint serves: it hands each
call to the runtime of the function it names (by function name, or by the function in an
execution's ARN). The webhooks table is on the DynamoDB twin (created by it when missing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.command_line import REPO_ROOT
from local.hosted_function import ALIAS, FUNCTION_NAME, WEBHOOK_FUNCTION_NAME, FunctionRef
from local.runtime import DurableRuntime, Reopened

WEBHOOK_CODE = REPO_ROOT / "functions" / "webhook_delivery"
WEBHOOK_HANDLER = "webhook_delivery_function:lambda_handler"
WEBHOOKS_TABLE = "webhooks"
WEBHOOK_DATABASE_FILE = "webhook-executions.db"
# template.yaml's DurableConfig.ExecutionTimeout of the delivery function: the schedule's 75 hours and more.
WEBHOOK_EXECUTION_TIMEOUT_SECONDS = 345600
# Deployed, each delivery is a Lambda invocation of its own; locally they share threads. An
# attempt may wait on its receiver for the whole timeout, so a few slow receivers would hold
# every other consumer's deliveries behind them if there were only a few threads.
WEBHOOK_CONCURRENT_DELIVERIES = 64


def webhook_environment(public_only: bool) -> dict[str, str]:
    """What the API, the projector and the delivery function find about webhooks in their environment."""
    return {
        "WEBHOOKS_TABLE_NAME": WEBHOOKS_TABLE,
        "WEBHOOK_FUNCTION_NAME": f"{WEBHOOK_FUNCTION_NAME}:{ALIAS}",
        # Locally webhooks stay on this machine (a receiver here), unless the deployed rules are asked for.
        "WEBHOOK_ADDRESSES": "public" if public_only else "loopback",
    }


def delivery_runtime(handler: Callable, data_dir: Path | None) -> DurableRuntime:
    return DurableRuntime(
        handler,
        data_dir,
        function_name=WEBHOOK_FUNCTION_NAME,
        execution_timeout_seconds=WEBHOOK_EXECUTION_TIMEOUT_SECONDS,
        database_file=WEBHOOK_DATABASE_FILE,
        status_events=False,
        concurrent_invocations=WEBHOOK_CONCURRENT_DELIVERIES,
    )


class HostedRuntimes:
    """The runtimes of the hosted functions, behind the one interface the Lambda endpoint calls."""

    def __init__(self, *runtimes: DurableRuntime) -> None:
        self._by_name = {runtime.function_name: runtime for runtime in runtimes}

    def _of(self, function: FunctionRef) -> DurableRuntime:
        return self._by_name[function.name]

    def _owning(self, execution_arn: str) -> DurableRuntime:
        """The runtime of the function an execution ARN names (`...:function:<name>:<version>/...`);
        an ARN of no hosted function goes to the first, which answers that it does not know it."""
        name = execution_arn.split(":function:", 1)[-1].split(":", 1)[0].split("/", 1)[0]
        return self._by_name.get(name, self._by_name[FUNCTION_NAME])

    def start(self, function: FunctionRef, payload: str, execution_name: str | None) -> str:
        return self._of(function).start(function, payload, execution_name)

    def list(self, function: FunctionRef, **filters: Any) -> dict[str, Any]:
        return self._of(function).list(function, **filters)

    def wait(self, execution_arn: str, *args: Any) -> Any:
        return self._owning(execution_arn).wait(execution_arn, *args)

    def describe(self, execution_arn: str, **options: Any) -> dict[str, Any]:
        return self._owning(execution_arn).describe(execution_arn, **options)

    def history(self, execution_arn: str, **options: Any) -> dict[str, Any]:
        return self._owning(execution_arn).history(execution_arn, **options)

    def stop(self, execution_arn: str, error: dict[str, Any] | None) -> dict[str, Any]:
        return self._owning(execution_arn).stop(execution_arn, error)

    def delete(self, execution_arn: str) -> Any:
        return self._owning(execution_arn).delete(execution_arn)


def webhook_lines(public_only: bool, reopened: Reopened) -> list[str]:
    """The banner's lines about webhooks: where deliveries run, which URLs they may reach."""
    rules = (
        "https to public addresses only, as deployed"
        if public_only
        else "http or https to loopback only (a receiver here); --webhooks-public-only: as deployed"
    )
    lines = [
        f"  Webhooks         function {WEBHOOK_FUNCTION_NAME}:{ALIAS}, table {WEBHOOKS_TABLE}",
        f"    URLs           {rules}",
    ]
    if reopened.resumed:
        lines.append(f"    Resumed        {reopened.resumed} delivery(ies) that were in flight")
    return lines
