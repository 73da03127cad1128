"""POST /calculations: the item written first, the start, idempotency per caller, Prefer: wait,
and what a failed start leaves behind."""

import io
import re
import uuid
import zlib

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

import app
import lambda_adapter
import service
from events import (
    TABLE,
    TEN_FIVE,
    conditional_check_failed,
    execution_arn,
    found,
    get_item_params,
    invoke_answer,
    item,
    name_of,
)
from waiting import prefer_wait

# The execution name of key-a's id "order-42", as the README's rule gives it.
ORDER_42 = "calc-925fa5b563b573e009d11ea85681c75a"
FIXED_UUID = uuid.UUID("0123456789abcdef0123456789abcdef")

pytestmark = pytest.mark.usefixtures("fixed_clock")


def put_params(name=ORDER_42, calculation_id="order-42", input_json='{"num1":10,"num2":5}'):
    return {
        "TableName": TABLE,
        "Item": {
            "executionName": {"S": name},
            "owner": {"S": "key:key-a"},
            "id": {"S": calculation_id},
            "input": {"S": input_json},
            "status": {"S": "RUNNING"},
            "startedAt": {"S": "2026-11-29T12:00:00.000000Z"},
            # Open, in one of the 8 shards of the reconciler's index, fixed by the name.
            "openShard": {"S": str(zlib.crc32(name.encode()) % 8)},
            # It must record its execution's ARN by 12:00:30.
            "startDeadline": {"N": "1795953630"},
        },
        # A name is free when no item holds it, when its item's retention has passed, or when its
        # item is an abandoned start (no ARN past its deadline).
        "ConditionExpression": "attribute_not_exists(#executionName) OR #expiresAt <= :now"
        " OR (#startDeadline <= :now AND attribute_not_exists(#executionArn))",
        "ExpressionAttributeNames": {
            "#executionName": "executionName",
            "#expiresAt": "expiresAt",
            "#startDeadline": "startDeadline",
            "#executionArn": "executionArn",
        },
        "ExpressionAttributeValues": {":now": {"N": "1795953600"}},
    }


def invoke_params(name=ORDER_42, payload=None, invocation_type="Event"):
    return {
        "FunctionName": "math-durable",
        "Qualifier": "live",
        "InvocationType": invocation_type,
        "DurableExecutionName": name,
        "Payload": payload or b'{"calculation":{"id":"order-42","owner":"key:key-a"},"num1":10,"num2":5}',
    }


def set_arn_params(name=ORDER_42):
    return {
        "TableName": TABLE,
        "Key": {"executionName": {"S": name}},
        "UpdateExpression": "SET #executionArn = if_not_exists(#executionArn, :executionArn)"
        " REMOVE #startDeadline",
        "ConditionExpression": "attribute_exists(#executionName)",
        "ExpressionAttributeNames": {
            "#executionName": "executionName",
            "#executionArn": "executionArn",
            "#startDeadline": "startDeadline",
        },
        "ExpressionAttributeValues": {":executionArn": {"S": execution_arn(name)}},
    }


def forget_params(name=ORDER_42):
    return {
        "TableName": TABLE,
        "Key": {"executionName": {"S": name}},
        "ConditionExpression": "attribute_not_exists(executionArn)",
    }


def stub_new_start(table_stub, lambda_stub, name=ORDER_42, calculation_id="order-42", **invoke):
    """A first start: the item is written, the execution started and its ARN recorded."""
    table_stub.add_response("put_item", {}, put_params(name, calculation_id))
    lambda_stub.add_response("invoke", invoke_answer(name), invoke_params(name, **invoke))
    table_stub.add_response("update_item", {}, set_arn_params(name))


def post(call, body=None, key="order-42", **headers):
    headers = {"Idempotency-Key": key, **headers} if key else headers
    return call("POST", "/calculations", {"num1": 10, "num2": 5} if body is None else body, headers=headers)


def test_post_writes_the_item_starts_the_alias_and_answers_202(call, stubs, table_stub, lambda_stub):
    # Given a new key: the item is written only if its name is new, the alias started under that
    # name with the owner and id in the payload, and the execution's ARN recorded (nothing read back)
    stub_new_start(table_stub, lambda_stub)

    # When a client posts two numbers with it
    response = post(call)

    # Then the calculation is accepted, with where to follow it and when to look again
    assert response.status == 202
    assert response.headers["Location"] == "/Prod/calculations/order-42"
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == {
        "id": "order-42",
        "status": "RUNNING",
        "input": {"num1": 10, "num2": 5},
        "startedAt": "2026-11-29T12:00:00Z",
        "links": {
            "self": "/Prod/calculations/order-42",
            "result": "/Prod/calculations/order-42/result",
            "history": "/Prod/calculations/order-42/history",
            "stop": "/Prod/calculations/order-42/stop",
        },
    }


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/json; charset=utf-8"])
def test_post_reads_json_whatever_the_case_of_its_media_type(
    call, stubs, table_stub, lambda_stub, content_type
):
    # Given a media type written in another case, or with a parameter (both still JSON)
    stub_new_start(table_stub, lambda_stub)

    # When a client posts with it
    response = post(call, **{"Content-Type": content_type})

    # Then the body is read as JSON
    assert response.status == 202
    assert response.json["input"] == {"num1": 10, "num2": 5}


def test_post_without_idempotency_key_makes_a_new_id(call, stubs, table_stub, lambda_stub, monkeypatch):
    # Given the API draws this random id
    monkeypatch.setattr(uuid, "uuid4", lambda: FIXED_UUID)
    calculation_id = "0123456789abcdef0123456789abcdef"
    name = name_of(calculation_id)
    payload = (
        b'{"calculation":{"id":"0123456789abcdef0123456789abcdef","owner":"key:key-a"},"num1":10,"num2":5}'
    )
    stub_new_start(table_stub, lambda_stub, name, calculation_id, payload=payload)

    # When a client posts without a key
    response = post(call, key=None)

    # Then the calculation has that id
    assert response.status == 202
    assert response.json["id"] == calculation_id
    assert response.headers["Location"] == f"/Prod/calculations/{calculation_id}"


@pytest.mark.parametrize(
    ("body", "input_json", "payload"),
    [
        (
            '{ "num2" : 5,\n "num1": 10 }',
            '{"num1":10,"num2":5}',
            b'{"calculation":{"id":"order-42","owner":"key:key-a"},"num1":10,"num2":5}',
        ),
        (
            {"num1": 10, "num2": 0},
            '{"num1":10,"num2":0}',
            b'{"calculation":{"id":"order-42","owner":"key:key-a"},"num1":10,"num2":0}',
        ),
        (
            {},
            '{"num1":0,"num2":0}',
            b'{"calculation":{"id":"order-42","owner":"key:key-a"},"num1":0,"num2":0}',
        ),
        (
            {"num1": -2.5},
            '{"num1":-2.5,"num2":0}',
            b'{"calculation":{"id":"order-42","owner":"key:key-a"},"num1":-2.5,"num2":0}',
        ),
    ],
)
def test_post_records_and_sends_the_canonical_input(
    call, stubs, table_stub, lambda_stub, body, input_json, payload
):
    # Given the item and the start expect the input in canonical form
    table_stub.add_response("put_item", {}, put_params(input_json=input_json))
    lambda_stub.add_response("invoke", invoke_answer(ORDER_42), invoke_params(payload=payload))
    table_stub.add_response("update_item", {}, set_arn_params())

    # When the body is posted, however it is spelled
    response = call(
        "POST",
        "/calculations",
        body,
        headers={"Content-Type": "application/json", "Idempotency-Key": "order-42"},
    )

    # Then it started
    assert response.status == 202


def test_post_accepts_a_base64_encoded_body(call, stubs, table_stub, lambda_stub):
    stub_new_start(table_stub, lambda_stub)

    response = call(
        "POST",
        "/calculations",
        {"num1": 10, "num2": 5},
        headers={"Idempotency-Key": "order-42"},
        base64_body=True,
    )

    assert response.status == 202


def test_links_and_location_follow_the_url_the_client_used(call, stubs, table_stub, lambda_stub):
    # Given a client on a custom domain (or the local runtime): no stage in its URLs
    stub_new_start(table_stub, lambda_stub)

    response = call(
        "POST",
        "/calculations",
        {"num1": 10, "num2": 5},
        headers={"Idempotency-Key": "order-42"},
        stage_in_path=False,
    )

    # Then Location and links carry no stage either
    assert response.headers["Location"] == "/calculations/order-42"
    assert response.json["links"]["self"] == "/calculations/order-42"
    assert response.json["links"]["result"] == "/calculations/order-42/result"


def test_post_with_same_idempotency_key_returns_same_calculation(call, stubs, table_stub, capsys):
    # Given the key was used before with the same body, and that calculation has ended
    table_stub.add_client_error("put_item", **conditional_check_failed(), expected_params=put_params())
    table_stub.add_response("get_item", found(item("order-42", "SUCCEEDED")), get_item_params(ORDER_42))

    # When the client retries, its fields in another order (no Invoke is stubbed: none may be made)
    response = post(call, {"num2": 5, "num1": 10})

    # Then it gets the same, ended calculation
    assert response.status == 200
    assert response.headers["Location"] == "/Prod/calculations/order-42"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["id"] == "order-42"
    assert response.json["status"] == "SUCCEEDED"
    assert response.json["result"] == {"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}
    assert "Preference-Applied" not in response.headers
    assert '"IdempotentReplays"' in capsys.readouterr().out


def test_post_with_same_key_while_it_runs_answers_202_without_starting_again(call, stubs, table_stub):
    # Given the key's calculation is still running
    table_stub.add_client_error("put_item", **conditional_check_failed(), expected_params=put_params())
    table_stub.add_response("get_item", found(item("order-42", "RUNNING")), get_item_params(ORDER_42))

    # When the client retries
    response = post(call)

    # Then it is told to follow the same calculation
    assert response.status == 202
    assert response.headers["Location"] == "/Prod/calculations/order-42"
    assert response.headers["Retry-After"] == "1"
    assert response.json["status"] == "RUNNING"


def stub_replay_of_a_start_without_its_arn(table_stub, lambda_stub):
    """A retry finds the item of a start that never recorded its execution, and starts it: Lambda
    answers the same name and payload with the existing execution, and the ARN is recorded."""
    table_stub.add_client_error("put_item", **conditional_check_failed(), expected_params=put_params())
    table_stub.add_response(
        "get_item", found(item("order-42", "RUNNING", arn=None)), get_item_params(ORDER_42)
    )
    lambda_stub.add_response("invoke", invoke_answer(ORDER_42), invoke_params())
    table_stub.add_response("update_item", {}, set_arn_params())


def test_post_with_same_key_before_the_first_start_recorded_its_arn_starts_it(
    call, stubs, table_stub, lambda_stub
):
    # Given the first start wrote the item but did not get as far as recording the execution
    stub_replay_of_a_start_without_its_arn(table_stub, lambda_stub)
    table_stub.add_response("get_item", found(item("order-42", "RUNNING")), get_item_params(ORDER_42))

    # When the client retries
    response = post(call)

    # Then the calculation runs under its one name
    assert response.status == 202
    assert response.json["id"] == "order-42"


def test_post_whose_item_went_between_the_refused_write_and_the_read_claims_it_again(
    call, stubs, table_stub, lambda_stub
):
    # Given the key's item is deleted just after the write was refused
    table_stub.add_client_error("put_item", **conditional_check_failed(), expected_params=put_params())
    table_stub.add_response("get_item", found(None), get_item_params(ORDER_42))
    # And the second write finds the name free
    table_stub.add_response("put_item", {}, put_params())
    lambda_stub.add_response("invoke", invoke_answer(ORDER_42), invoke_params())
    table_stub.add_response("update_item", {}, set_arn_params())

    # When the client starts it
    response = post(call)

    # Then it starts, with no retry asked of the client
    assert response.status == 202
    assert response.json["id"] == "order-42"


def test_post_whose_item_keeps_going_between_write_and_read_is_503_to_retry(call, stubs, table_stub):
    # Given the key's item is deleted just after each refused write, twice (no Invoke is stubbed)
    for _ in range(2):
        table_stub.add_client_error("put_item", **conditional_check_failed(), expected_params=put_params())
        table_stub.add_response("get_item", found(None), get_item_params(ORDER_42))

    # When the client starts it
    response = post(call)

    # Then it is asked to retry, which writes the item afresh
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"


def test_post_whose_item_went_before_its_arn_was_recorded_is_503_to_retry(
    call, stubs, table_stub, lambda_stub
):
    # Given a concurrent start of the same key removed the item while this one started it
    table_stub.add_response("put_item", {}, put_params())
    lambda_stub.add_response("invoke", invoke_answer(ORDER_42), invoke_params())
    table_stub.add_client_error("update_item", **conditional_check_failed(), expected_params=set_arn_params())

    # When the client starts it
    response = post(call)

    # Then it is asked to retry: Lambda answers the same name and body with the running execution
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("code", "status"), [("ServiceUnavailable", 503), ("ProvisionedThroughputExceededException", 400)]
)
def test_post_whose_arn_the_table_could_not_record_is_accepted_not_refused(
    call, stubs, table_stub, lambda_stub, code, status
):
    # Given the execution started, and the table then failed (or throttled) the ARN's write
    table_stub.add_response("put_item", {}, put_params())
    lambda_stub.add_response("invoke", invoke_answer(ORDER_42), invoke_params())
    table_stub.add_client_error(
        "update_item", service_error_code=code, http_status_code=status, expected_params=set_arn_params()
    )

    # When the client starts it (the item is not removed: no delete is stubbed)
    response = post(call)

    # Then the start stands, with where to follow it: a 503 would have a client without a key
    # start a second calculation
    assert response.status == 202
    assert response.headers["Location"] == "/Prod/calculations/order-42"
    assert response.json["status"] == "RUNNING"


def test_post_replayed_whose_item_cannot_be_read_after_the_start_is_accepted(
    call, stubs, table_stub, lambda_stub
):
    # Given a replay of a start that never recorded its execution, and the table failing the read
    # that follows the start
    stub_replay_of_a_start_without_its_arn(table_stub, lambda_stub)
    table_stub.add_client_error(
        "get_item",
        service_error_code="InternalServerError",
        http_status_code=500,
        expected_params=get_item_params(ORDER_42),
    )

    response = post(call)

    assert response.status == 202
    assert response.json["id"] == "order-42"


def test_prefer_wait_whose_read_fails_after_the_end_answers_202(call, stubs, table_stub, lambda_stub):
    # Given the wait returned, and the table then fails the read of the end
    stub_new_start(table_stub, lambda_stub)
    with Stubber(lambda_adapter.attach_client(5)) as attach:
        attach.add_response("invoke", {"StatusCode": 200}, invoke_params(invocation_type="RequestResponse"))
        table_stub.add_client_error(
            "get_item",
            service_error_code="InternalServerError",
            http_status_code=500,
            expected_params=get_item_params(ORDER_42),
        )

        response = post(call, Prefer="wait=5")

    # Then the started calculation is answered as accepted, with where to read its end
    assert response.status == 202
    assert response.headers["Location"] == "/Prod/calculations/order-42"
    assert "Preference-Applied" not in response.headers


@pytest.mark.parametrize(
    ("body", "input_json"),
    [
        ({"num1": 1, "num2": 2}, '{"num1":1,"num2":2}'),
        ({"num1": 1, "num2": 5}, '{"num1":1,"num2":5}'),
        ({"num1": 10, "num2": 2}, '{"num1":10,"num2":2}'),
    ],
    ids=["both-numbers", "num1-only", "num2-only"],
)
def test_post_with_same_idempotency_key_and_another_body_is_a_conflict(
    call, stubs, table_stub, capsys, body, input_json
):
    # Given the key belongs to a calculation of 10 and 5
    table_stub.add_client_error(
        "put_item", **conditional_check_failed(), expected_params=put_params(input_json=input_json)
    )
    table_stub.add_response("get_item", found(item("order-42", "RUNNING")), get_item_params(ORDER_42))

    # When the key is sent with other numbers, whichever differs
    response = post(call, body)

    # Then it is a 409 problem that says why, without AWS's words
    assert response.status == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "this Idempotency-Key was already used with another body",
        "instance": "/calculations",
    }
    assert '"Conflicts"' in capsys.readouterr().out


def test_post_with_same_idempotency_key_same_num1_and_another_num2_is_a_conflict(call, stubs, table_stub):
    # Given the key belongs to a calculation of 10 and 5
    table_stub.add_client_error(
        "put_item",
        **conditional_check_failed(),
        expected_params=put_params(input_json='{"num1":10,"num2":6}'),
    )
    table_stub.add_response("get_item", found(item("order-42", "RUNNING")), get_item_params(ORDER_42))

    # When the key is sent with the same num1 and another num2
    response = post(call, {"num1": 10, "num2": 6})

    # Then it is the conflict, not the first calculation
    assert response.status == 409
    assert response.json["detail"] == "this Idempotency-Key was already used with another body"


# The body limit: MAX_BODY_BYTES, 16 KiB by default. A body of two numbers padded with spaces.
BODY_LIMIT = 16 * 1024


def padded_body(size: int) -> str:
    body = '{"num1": 10, "num2": 5}'
    return body + " " * (size - len(body))


def test_a_body_of_exactly_the_limit_is_accepted(call, stubs, table_stub, lambda_stub):
    # Given a start that would go through
    stub_new_start(table_stub, lambda_stub)

    # When the body is exactly 16384 bytes
    response = call(
        "POST",
        "/calculations",
        padded_body(BODY_LIMIT),
        headers={"Content-Type": "application/json", "Idempotency-Key": "order-42"},
    )

    # Then it is started
    assert response.status == 202, response.json


def test_a_body_one_byte_over_the_limit_is_413(call, stubs):
    # When the body is 16385 bytes (nothing is stubbed: no call may be made)
    response = call(
        "POST",
        "/calculations",
        padded_body(BODY_LIMIT + 1),
        headers={"Content-Type": "application/json", "Idempotency-Key": "order-42"},
    )

    # Then it is refused unread
    assert response.status == 413
    assert response.json["detail"] == "the body is larger than 16384 bytes"


def test_post_when_lambda_holds_the_name_with_another_input_is_a_conflict(
    call, stubs, table_stub, lambda_stub
):
    # Given a table that does not know the key, but Lambda has an execution of that name
    # with another payload (a table restored from an older backup)
    table_stub.add_response("put_item", {}, put_params())
    lambda_stub.add_client_error(
        "invoke",
        service_error_code="DurableExecutionAlreadyStartedException",
        service_message="arn:aws:lambda:us-east-1:123456789012:function:math-durable:1 already started",
        http_status_code=409,
        expected_params=invoke_params(),
    )
    table_stub.add_response("delete_item", {}, forget_params())

    # When the key is posted
    response = post(call)

    # Then the item is removed again and the key is taken, as if the table had known it
    assert response.status == 409
    assert response.json["detail"] == "this Idempotency-Key was already used with another body"
    assert "arn:" not in response.text


@pytest.mark.parametrize("key", ["has space", "a" * 65, "", "slash/key", "dot.key", "ключ"])
def test_post_with_invalid_idempotency_key_is_refused_naming_the_header(call, stubs, key):
    # No call is stubbed: none may be made
    response = call("POST", "/calculations", {"num1": 1}, headers={"Idempotency-Key": key})

    assert response.status == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["errors"] == [
        {"field": "Idempotency-Key", "message": "must be 1-64 of A-Z a-z 0-9 - _"}
    ]


@pytest.mark.parametrize(
    "prefer", ["wait=1, " + "x" * 249, "wait=1\x00", "wait=ñ"], ids=["257-chars", "control", "non-ascii"]
)
def test_post_with_a_prefer_header_over_its_limits_is_refused_naming_the_header(call, stubs, prefer):
    # Given a Prefer header one character over 256, or holding a character that is not visible ASCII
    # When it is posted (no call is stubbed: none may be made)
    response = call("POST", "/calculations", {"num1": 1}, headers={"Prefer": prefer})

    # Then it is a 422 naming the header and its limits
    assert response.status == 422
    assert response.json["errors"] == [
        {"field": "Prefer", "message": "must be at most 256 characters of visible ASCII, e.g. wait=10"}
    ]


def test_prefer_wait_answers_with_the_finished_calculation(call, stubs, table_stub, lambda_stub):
    # Given the calculation finishes while the API waits on the re-attached invocation
    stub_new_start(table_stub, lambda_stub)
    answer = io.BytesIO(b'{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}')
    with Stubber(lambda_adapter.attach_client(3)) as attach:
        attach.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": StreamingBody(answer, len(answer.getvalue()))},
            invoke_params(invocation_type="RequestResponse"),
        )
        table_stub.add_response("get_item", found(item("order-42", "SUCCEEDED")), get_item_params(ORDER_42))

        # When the client asks to wait up to 3 seconds
        response = post(call, Prefer="wait=3")

        attach.assert_no_pending_responses()

    # Then it gets the finished calculation at once
    assert response.status == 200
    assert response.headers["Preference-Applied"] == "wait=3"
    assert response.headers["Location"] == "/Prod/calculations/order-42"
    assert response.json["status"] == "SUCCEEDED"
    assert response.json["result"] == TEN_FIVE
    assert response.json["endedAt"] == "2026-01-01T12:00:01.250000Z"
    # And the invocation's answer was read to its end, so its connection is reused
    assert answer.tell() == len(answer.getvalue())


def test_prefer_wait_reads_again_an_end_lambda_recorded_before_the_table(
    call, stubs, table_stub, lambda_stub, monkeypatch
):
    # Given a stop: Lambda ends the execution (the waiting invocation returns) a moment before the
    # stop's route writes STOPPED to the item
    monkeypatch.setattr(service, "ENDING_PAUSES_SECONDS", (0.0, 0.0, 0.0))
    stub_new_start(table_stub, lambda_stub)
    with Stubber(lambda_adapter.attach_client(5)) as attach:
        attach.add_response("invoke", {"StatusCode": 200}, invoke_params(invocation_type="RequestResponse"))
        for status in ("RUNNING", "RUNNING", "STOPPED"):
            table_stub.add_response("get_item", found(item("order-42", status)), get_item_params(ORDER_42))

        # When the client waits for it
        response = post(call, Prefer="wait=5")

    # Then the answer is the end, not the RUNNING item read in between
    assert response.status == 200
    assert response.json["status"] == "STOPPED"


def test_prefer_wait_answers_202_when_the_item_never_shows_the_end(
    call, stubs, table_stub, lambda_stub, monkeypatch
):
    monkeypatch.setattr(service, "ENDING_PAUSES_SECONDS", (0.0,))
    stub_new_start(table_stub, lambda_stub)
    with Stubber(lambda_adapter.attach_client(5)) as attach:
        attach.add_response("invoke", {"StatusCode": 200}, invoke_params(invocation_type="RequestResponse"))
        for _ in range(2):
            table_stub.add_response("get_item", found(item("order-42", "RUNNING")), get_item_params(ORDER_42))

        response = post(call, Prefer="wait=5")

    assert response.status == 202
    assert response.json["status"] == "RUNNING"


def test_prefer_wait_answers_202_when_the_calculation_is_still_running(call, stubs, table_stub, lambda_stub):
    # Given the re-attached invocation does not return within the wait
    stub_new_start(table_stub, lambda_stub)

    def time_out(request, **kwargs):
        raise ReadTimeoutError(endpoint_url=request.url)

    lambda_adapter.attach_client(2).meta.events.register("before-send.lambda.Invoke", time_out)

    # When the client asks to wait up to 2 seconds
    response = post(call, Prefer="respond-async, wait=2")

    # Then it is still running, and the answer says so without claiming it waited
    assert response.status == 202
    assert "Preference-Applied" not in response.headers
    assert response.headers["Retry-After"] == "1"
    assert response.json["status"] == "RUNNING"


def test_prefer_wait_is_capped_by_the_settings(call, stubs, table_stub, lambda_stub, monkeypatch):
    monkeypatch.setenv("PREFER_WAIT_MAX_SECONDS", "1")
    stub_new_start(table_stub, lambda_stub)
    with Stubber(lambda_adapter.attach_client(1)) as attach:
        attach.add_response("invoke", {"StatusCode": 200}, invoke_params(invocation_type="RequestResponse"))
        table_stub.add_response("get_item", found(item("order-42", "SUCCEEDED")), get_item_params(ORDER_42))

        response = post(call, Prefer="wait=600")

    assert response.status == 200
    assert response.headers["Preference-Applied"] == "wait=1"


@pytest.mark.parametrize(
    ("prefer", "seconds"),
    [
        (None, 0),
        ("wait=5", 5),
        ('respond-async, WAIT = "7"', 7),
        ("wait=1000000", 25),
        ("wait=" + "9" * 5000, 25),
        ("wait=-1", 0),
        ("wait=1.5", 0),
        ("waiting=5", 0),
    ],
)
def test_prefer_wait_reads_seconds_and_caps_any_longer_wait(api_environment, monkeypatch, prefer, seconds):
    monkeypatch.setenv("PREFER_WAIT_MAX_SECONDS", "25")

    assert prefer_wait(prefer) == seconds


def test_post_when_lambda_throttles_removes_the_item_and_is_429_with_retry_after(
    call, stubs, table_stub, lambda_stub, capsys
):
    # Given Lambda throttles the start
    table_stub.add_response("put_item", {}, put_params())
    lambda_stub.add_client_error(
        "invoke",
        service_error_code="TooManyRequestsException",
        service_message="Rate exceeded for arn:aws:lambda:us-east-1:123456789012:function:math-durable",
        http_status_code=429,
        modeled_fields={"retryAfterSeconds": "3", "Type": "User", "message": "Rate exceeded"},
        expected_params=invoke_params(),
    )
    # The item goes, unless a concurrent retry has recorded an execution meanwhile
    table_stub.add_response("delete_item", {}, forget_params())

    # When a client posts
    response = post(call)

    # Then it is told to retry later, in the API's words
    assert response.status == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "too many requests right now; retry later",
        "instance": "/calculations",
    }
    assert '"Throttles"' in capsys.readouterr().out
    # And the item was removed, so a retry starts afresh
    table_stub.assert_no_pending_responses()


def test_post_when_lambda_fails_removes_the_item_and_is_503(call, stubs, table_stub, lambda_stub):
    table_stub.add_response("put_item", {}, put_params())
    lambda_stub.add_client_error(
        "invoke", service_error_code="ServiceException", service_message="internal", http_status_code=500
    )
    table_stub.add_response("delete_item", {}, forget_params())

    response = post(call)

    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["detail"] == "the calculation service is unavailable; retry later"


def test_post_when_the_item_is_recorded_meanwhile_keeps_it(call, stubs, table_stub, lambda_stub):
    # Given the start fails, but a concurrent retry has recorded an execution for the item
    table_stub.add_response("put_item", {}, put_params())
    lambda_stub.add_client_error(
        "invoke", service_error_code="ServiceException", service_message="internal", http_status_code=500
    )
    table_stub.add_client_error("delete_item", **conditional_check_failed(), expected_params=forget_params())

    response = post(call)

    # Then this request fails, and the recorded calculation stays
    assert response.status == 503


def test_post_when_the_table_throttles_starts_nothing(call, stubs, table_stub):
    table_stub.add_client_error(
        "put_item",
        service_error_code="ProvisionedThroughputExceededException",
        service_message="Rate of requests exceeds the allowed throughput",
        http_status_code=400,
    )

    # No Invoke is stubbed: none may be made
    response = post(call)

    assert response.status == 429
    assert response.headers["Retry-After"] == "1"


def test_post_without_a_durable_execution_arn_is_a_bad_gateway(call, stubs, table_stub, lambda_stub):
    # Given the function is not durable: Lambda starts a plain invocation
    table_stub.add_response("put_item", {}, put_params())
    lambda_stub.add_response("invoke", {"StatusCode": 202}, invoke_params())
    table_stub.add_response("delete_item", {}, forget_params())

    response = post(call)

    assert response.status == 502
    assert response.json["detail"] == "the calculation service gave an unexpected answer"


def test_post_logs_the_correlation_and_calculation_ids(call, stubs, table_stub, lambda_stub):
    # Given the log lines go to a buffer
    buffer = io.StringIO()
    previous = app.logger.registered_handler.setStream(buffer)
    stub_new_start(table_stub, lambda_stub)

    try:
        post(call)
    finally:
        app.logger.registered_handler.setStream(previous)

    # Then the line names the request and the calculation
    lines = [line for line in buffer.getvalue().splitlines() if '"calculation started"' in line]
    assert len(lines) == 1
    assert '"calculation_id":"order-42"' in lines[0]
    assert re.search(r'"correlation_id":"[0-9a-f-]{36}"', lines[0])


def test_execution_arn_helper_matches_lambda_arn_shape():
    # The stubbed ARNs have the shape Lambda documents, so the API never parses them itself.
    assert re.fullmatch(
        r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]+:\d+/durable-execution/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+",
        execution_arn("x"),
    )
