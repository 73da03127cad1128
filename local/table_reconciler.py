"""The table's reconciler, run locally at start-up and every few seconds, as the schedule runs it deployed.

The same handler (functions/reconciler) is called in-process on a thread of its own, with a
Lambda context, against the local Lambda endpoint and the table's twin: its boto3 clients find
them through AWS_ENDPOINT_URL_LAMBDA and AWS_ENDPOINT_URL_DYNAMODB, as every function here does.
A run that fails (the twin down or restarting, the endpoint busy) is logged, and the next period
tries again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local import hosted_function
from local.function_worker import LambdaContext

logger = logging.getLogger("local.reconciler")

FUNCTION_NAME = "reconciler"
# What a run that found the table in line with Lambda reports: nothing worth a log line.
QUIET_OUTCOMES = frozenset({"running", "still starting", "already ended"})
TIMEOUT_SECONDS = 60.0
# How long stopping waits for a run under way (it is paced, and may sleep between calls).
STOP_WAIT_SECONDS = 5.0

Handler = Callable[[dict[str, Any], Any], dict[str, int]]


def run_context() -> LambdaContext:
    """The Lambda context the reconciler's handler gets for one run."""
    request_id = str(uuid.uuid4())
    return LambdaContext(
        function_name=FUNCTION_NAME,
        function_version="$LATEST",
        invoked_function_arn=(
            f"arn:aws:lambda:{hosted_function.REGION}:{hosted_function.ACCOUNT_ID}:function:{FUNCTION_NAME}"
        ),
        memory_limit_in_mb=512,
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{FUNCTION_NAME}",
        log_stream_name=request_id,
        timeout_seconds=TIMEOUT_SECONDS,
    )


class TableReconciler:
    """Calls `handler` at once, then `period` seconds after each run ends, until closed."""

    def __init__(self, handler: Handler, period: float) -> None:
        self.handler = handler
        self.period = period
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run_forever, name="table-reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run_once(self) -> dict[str, int] | None:
        """One run: what it did, counted; None when it failed (logged)."""
        try:
            counts = self.handler({}, run_context())
        except (BotoCoreError, ClientError) as error:
            if isinstance(error, ClientError) and "specified index" in str(error):
                # A table made before the open index existed: dynalite cannot add an index to it.
                logger.error(
                    "the table lacks the reconciler's index (an older version created it), so it is "
                    "not reconciled: start on a fresh --data-dir; `make repair` rebuilds the table"
                )
                self._stopping.set()
            else:
                logger.warning("table reconciliation failed, trying again in %s s: %s", self.period, error)
            return None
        if set(counts) - QUIET_OUTCOMES:
            logger.info("table reconciled: %s", counts)
        return counts

    def _run_forever(self) -> None:
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(self.period)

    def close(self) -> None:
        """Stop; a run under way gets STOP_WAIT_SECONDS to end (its writes are conditional either way)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=STOP_WAIT_SECONDS)
