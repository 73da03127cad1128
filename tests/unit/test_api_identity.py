"""Who owns a calculation: the caller as API Gateway identifies it, from the event's requestContext."""

import pytest

from errors import NoCallerIdentity
from events import found, get_item_params, item
from identity import caller_owner


def test_an_api_key_caller_is_owner_key_and_its_id():
    # Given a request API Gateway let through with an API key
    context = {"identity": {"apiKeyId": "a1b2c3d4e5", "sourceIp": "203.0.113.7"}}

    # When its owner is read
    # Then it is the key's id, marked as a key
    assert caller_owner(context) == "key:a1b2c3d4e5"


def test_an_authorizer_principal_is_owner_authorizer_and_its_id():
    context = {"authorizer": {"principalId": "user-42"}, "identity": {}}

    assert caller_owner(context) == "authorizer:user-42"


def test_an_iam_caller_is_owner_iam_and_its_arn():
    context = {"identity": {"userArn": "arn:aws:iam::123456789012:user/alice"}}

    assert caller_owner(context) == "iam:arn:aws:iam::123456789012:user/alice"


def test_an_authorizer_principal_comes_before_an_iam_caller_and_an_api_key():
    # Given a request that carries all three kinds of identity
    context = {
        "authorizer": {"principalId": "user-42"},
        "identity": {"userArn": "arn:aws:iam::123456789012:user/alice", "apiKeyId": "a1b2c3d4e5"},
    }

    # Then the authorizer's principal owns it
    assert caller_owner(context) == "authorizer:user-42"


def test_an_iam_caller_comes_before_an_api_key():
    context = {"identity": {"userArn": "arn:aws:iam::123456789012:user/alice", "apiKeyId": "a1b2c3d4e5"}}

    assert caller_owner(context) == "iam:arn:aws:iam::123456789012:user/alice"


@pytest.mark.parametrize(
    "context",
    [
        None,
        {},
        {"identity": None},
        {"identity": {"sourceIp": "203.0.113.7", "apiKeyId": None, "userArn": None}},
        {"identity": {"apiKeyId": ""}},
        {"authorizer": {"principalId": ""}, "identity": {}},
        {"authorizer": None, "identity": {"sourceIp": "203.0.113.7"}},
    ],
    ids=[
        "no-context",
        "empty",
        "null-identity",
        "null-fields",
        "empty-key",
        "empty-principal",
        "null-authorizer",
    ],
)
def test_a_request_without_an_identity_has_no_owner(context):
    with pytest.raises(NoCallerIdentity):
        caller_owner(context)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/calculations"),
        ("GET", "/calculations/calc-1"),
        ("GET", "/calculations/calc-1/result"),
        ("GET", "/calculations/calc-1/history"),
        ("POST", "/calculations/calc-1/stop"),
        ("DELETE", "/calculations/calc-1"),
    ],
)
def test_a_request_without_an_identity_is_a_403_problem_before_any_call(call, stubs, method, path):
    # Given a request that reached the function without an API key (no AWS call is stubbed)
    # When it asks for anything
    response = call(method, path, api_key_id=None)

    # Then it is refused as the gateway would, naming no internals
    assert response.status == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "the request carries no API key",
        "instance": path,
    }


def test_a_start_without_an_identity_is_a_403_problem_and_writes_nothing(call, stubs):
    response = call(
        "POST",
        "/calculations",
        {"num1": 10, "num2": 5},
        headers={"Idempotency-Key": "order-42"},
        api_key_id=None,
    )

    assert response.status == 403
    assert response.json["detail"] == "the request carries no API key"


def test_the_same_id_from_two_keys_names_two_executions(call, stubs, table_stub):
    # Given each key reads "order-42": each read is of its own execution name (as the README's rule gives)
    table_stub.add_response(
        "get_item",
        found(item("order-42", "SUCCEEDED")),
        get_item_params("calc-925fa5b563b573e009d11ea85681c75a"),
    )
    table_stub.add_response("get_item", {}, get_item_params("calc-4aa3e23a3125f5353b30261968706c56"))

    # When key-a and then key-b read it
    mine = call("GET", "/calculations/order-42", api_key_id="key-a")
    theirs = call("GET", "/calculations/order-42", api_key_id="key-b")

    # Then key-a sees its calculation, key-b has none of that id
    assert mine.status == 200
    assert theirs.status == 404
