"""A durable function for the tests that need a calculation still running when they act on it.

It waits 30 s (a durable wait: checkpointed, no compute held) before the real function's own
work, so a stop or a delete sent meanwhile meets a RUNNING calculation. The local runtime hosts
it with `--durable-handler slow_durable:lambda_handler --durable-path tests/integration`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python.config import Duration
from aws_durable_execution_sdk_python.context import DurableContext
from aws_durable_execution_sdk_python.execution import durable_execution

MATH_CODE = Path(__file__).resolve().parents[2] / "functions" / "math_durable"
HOLD = Duration.from_seconds(30)

# The real function's package root on the import path only while importing it, as the local
# runtime does for the function it hosts by default.
sys.path.insert(0, str(MATH_CODE))
try:
    import durable_math
finally:
    sys.path.remove(str(MATH_CODE))

# The real function's body, undecorated (functools.wraps keeps it), run on this execution's context.
calculate = durable_math.lambda_handler.__wrapped__


@durable_execution
def lambda_handler(event: Any, context: DurableContext) -> Any:
    context.wait(HOLD, name="Hold")
    return calculate(event, context)
