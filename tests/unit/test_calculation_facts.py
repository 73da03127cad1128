"""The facts every function shares (the layer's calculation_facts), expected values written out."""

import re

import pytest

from calculation_facts import (
    CALCULATION_ID_PATTERN,
    ERROR_DETAILS,
    OPERATION_NAMES,
    calculation_status,
    execution_name,
    is_finite_number,
    operations_failed,
    result_document,
)


def test_all_four_results_make_the_plain_document_in_operation_order():
    document = result_document({"Division": 2.0, "Multiply": 50, "Subtract": 5, "Add": 15}, {})

    assert list(document.items()) == [("Add", 15), ("Subtract", 5), ("Multiply", 50), ("Division", 2.0)]


def test_a_failed_operation_puts_error_details_first_and_keeps_the_other_results():
    document = result_document({"Multiply": 0, "Add": 10, "Subtract": 10}, {"Division": "division by zero"})

    assert list(document.items()) == [
        ("error_details", "One or more operations failed"),
        ("errors", {"Division": "division by zero"}),
        ("Add", 10),
        ("Subtract", 10),
        ("Multiply", 0),
    ]


def test_a_result_for_an_unknown_operation_is_refused():
    with pytest.raises(ValueError, match="not an operation: Modulo"):
        result_document({"Modulo": 1}, {})


def test_operation_names_and_error_details_are_the_documented_ones():
    assert OPERATION_NAMES == ("Add", "Subtract", "Multiply", "Division")
    assert ERROR_DETAILS == "One or more operations failed"


@pytest.mark.parametrize(
    ("document", "failed"),
    [
        ({"error_details": "One or more operations failed", "errors": {}}, True),
        ({"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}, False),
        (None, False),
        ("error_details", False),
    ],
)
def test_operations_failed_means_the_document_holds_error_details(document, failed):
    assert operations_failed(document) is failed


@pytest.mark.parametrize(
    ("value", "finite"),
    [
        (10**308, True),
        (-(10**308), True),
        (1.7976931348623157e308, True),
        (-1.5, True),
        (0, True),
        (10**309, False),
        (-(10**309), False),
        (float("nan"), False),
        (float("inf"), False),
        (float("-inf"), False),
        (True, False),
        (False, False),
        ("10", False),
        (None, False),
    ],
)
def test_a_finite_number_is_one_a_double_can_carry(value, finite):
    assert is_finite_number(value) is finite


@pytest.mark.parametrize(
    ("lambda_status", "document", "status"),
    [
        ("RUNNING", None, "RUNNING"),
        ("SUCCEEDED", {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}, "SUCCEEDED"),
        ("SUCCEEDED", {"error_details": "One or more operations failed", "errors": {}}, "FAILED"),
        ("SUCCEEDED", None, "SUCCEEDED"),
        ("FAILED", None, "FAILED"),
        ("TIMED_OUT", None, "TIMED_OUT"),
        ("STOPPED", None, "STOPPED"),
        ("PAUSING", None, "RUNNING"),
        ("PAUSED", None, "RUNNING"),
        ("DELETING", None, "RUNNING"),
        ("SOMETHING_NEW", None, "RUNNING"),
    ],
)
def test_calculation_status_follows_lambda_except_failed_operations(lambda_status, document, status):
    assert calculation_status(lambda_status, document) == status


def test_execution_name_is_calc_and_32_hex_of_owner_and_id():
    # `printf 'key:abc123\norder-42' | sha256sum` starts a3173e7875e4e3e04853931f28b5a537
    name = execution_name("key:abc123", "order-42")

    assert name == "calc-a3173e7875e4e3e04853931f28b5a537"
    assert len(name) == 37


def test_two_owners_with_the_same_id_get_two_executions():
    assert execution_name("key:one", "order-42") != execution_name("key:two", "order-42")


def test_an_execution_name_is_a_valid_calculation_id():
    assert re.fullmatch(CALCULATION_ID_PATTERN, execution_name("key:abc123", "order-42"))
    assert re.fullmatch(CALCULATION_ID_PATTERN, "a" * 64)
    assert not re.fullmatch(CALCULATION_ID_PATTERN, "a" * 65)
    assert not re.fullmatch(CALCULATION_ID_PATTERN, "")
    assert not re.fullmatch(CALCULATION_ID_PATTERN, "has space")
    assert not re.fullmatch(CALCULATION_ID_PATTERN, "dot.ted")
