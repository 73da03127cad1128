"""Pure arithmetic behind the four operations: plain functions, no SDK, easy to test."""

from collections.abc import Callable

from calculation_facts import OPERATION_NAMES, Number, is_finite_number


class NonFiniteResultError(ArithmeticError):
    """The result is NaN or infinite, or an integer beyond the largest double: JSON cannot carry it."""


def _finite(result: Number) -> Number:
    if is_finite_number(result):
        return result
    if isinstance(result, int):
        raise NonFiniteResultError("result is not a finite number: beyond 1.8e308")
    raise NonFiniteResultError(f"result is not a finite number: {result}")


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


OPERATIONS: dict[str, Callable[[Number, Number], Number]] = dict(
    zip(OPERATION_NAMES, (add, subtract, multiply, divide), strict=True)
)
"""Each operation by its name in the result document: Add, Subtract, Multiply, Division."""
