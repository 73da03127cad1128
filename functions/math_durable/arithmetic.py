"""Pure arithmetic behind the four operations: plain functions, no SDK, easy to test."""

import math
import sys
from collections.abc import Callable

Number = int | float


class NonFiniteResultError(ArithmeticError):
    """The result is NaN or infinite, which JSON cannot carry."""


def is_finite(value: Number) -> bool:
    """Whether a JSON reader using doubles gets the number back: no NaN or infinity, and no
    integer beyond the largest double (Python's integers have no limit; JSON readers do)."""
    if isinstance(value, int):
        return abs(value) <= sys.float_info.max
    return math.isfinite(value)


def _finite(result: Number) -> Number:
    if isinstance(result, float) and not math.isfinite(result):
        raise NonFiniteResultError(f"result is not a finite number: {result}")
    if not is_finite(result):
        raise NonFiniteResultError("result is not a finite number: beyond 1.8e308")
    return result


def add(num1: Number, num2: Number) -> Number:
    return _finite(num1 + num2)


def subtract(num1: Number, num2: Number) -> Number:
    return _finite(num1 - num2)


def multiply(num1: Number, num2: Number) -> Number:
    return _finite(num1 * num2)


def divide(num1: Number, num2: Number) -> float:
    if num2 == 0:
        raise ZeroDivisionError("division by zero")
    return _finite(num1 / num2)


OPERATIONS: dict[str, Callable[[Number, Number], Number]] = {
    "Add": add,
    "Subtract": subtract,
    "Multiply": multiply,
    "Division": divide,
}
