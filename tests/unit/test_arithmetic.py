import pytest

from arithmetic import OPERATIONS, NonFiniteResultError, add, divide, multiply, subtract


def test_operations_keep_python_number_semantics():
    # Given two ints, When each operation runs, Then ints stay ints and division is a float
    assert add(10, 5) == 15
    assert isinstance(add(10, 5), int)
    assert subtract(10, 5) == 5
    assert multiply(10, 5) == 50
    assert divide(10, 5) == 2.0
    assert isinstance(divide(10, 5), float)


def test_operations_accept_floats_and_negatives():
    assert add(0.5, -1.25) == -0.75
    assert subtract(-3, 2.5) == -5.5
    assert multiply(-4, 0.25) == -1.0
    assert divide(-9, 2) == -4.5


def test_divide_by_zero_is_an_arithmetic_error():
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        divide(10, 0)
    with pytest.raises(ZeroDivisionError):
        divide(0, 0.0)


@pytest.mark.parametrize(
    ("operation", "num1", "num2"),
    [(multiply, 1e308, 10), (add, 1e308, 1e308), (subtract, -1e308, 1e308), (divide, 1e308, 1e-308)],
)
def test_overflow_to_infinity_is_refused(operation, num1, num2):
    with pytest.raises(NonFiniteResultError, match="not a finite number"):
        operation(num1, num2)


def test_huge_integer_division_overflows_as_an_arithmetic_error():
    with pytest.raises(ArithmeticError):
        divide(10**400, 3)


def test_an_integer_result_beyond_the_largest_double_is_refused():
    # JSON readers that use doubles would read such an integer as Infinity
    with pytest.raises(NonFiniteResultError, match=r"beyond 1\.8e308"):
        multiply(10**200, 10**200)


def test_nan_from_an_operation_is_refused():
    with pytest.raises(NonFiniteResultError, match="not a finite number: nan"):
        add(float("inf"), float("-inf"))


def test_operations_are_named_as_in_the_result_document():
    assert list(OPERATIONS) == ["Add", "Subtract", "Multiply", "Division"]
    assert OPERATIONS["Division"](9, 2) == 4.5
