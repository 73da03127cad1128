"""A durable function for the console's test that untrusted text stays text.

It is the real function, except that Division fails with a message written in HTML
(hostile_text.py). The local runtime hosts it with
`--durable-handler hostile_durable:lambda_handler --durable-path tests/integration`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hostile_text import HOSTILE_MESSAGE

MATH_CODE = Path(__file__).resolve().parents[2] / "functions" / "math_durable"

# The real function's package root on the import path only while importing it, as the local
# runtime does for the function it hosts by default.
sys.path.insert(0, str(MATH_CODE))
try:
    import durable_math
finally:
    sys.path.remove(str(MATH_CODE))


def hostile_divide(num1: float, num2: float) -> float:
    # An arithmetic error, so that Division fails at once (the real rules never retry those).
    raise ZeroDivisionError(HOSTILE_MESSAGE)


durable_math.OPERATIONS["Division"] = hostile_divide
lambda_handler = durable_math.lambda_handler
