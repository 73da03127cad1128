"""A durable function for the tests that need executions to end while the table is out of reach.

It writes nothing to the table and ends at once with its input, so only the status events (and
the status projector they feed) need the table. The local runtime hosts it with
`--durable-handler tableless_durable:lambda_handler --durable-path tests/integration`.
"""

from __future__ import annotations

from typing import Any

from aws_durable_execution_sdk_python.context import DurableContext
from aws_durable_execution_sdk_python.execution import durable_execution


@durable_execution
def lambda_handler(event: Any, context: DurableContext) -> Any:
    return event
