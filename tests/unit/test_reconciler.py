"""The reconciler on stubbed DynamoDB and Lambda: each (table state, Lambda state) pair, its pace, a run."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

import reconciler

NAME = "calc-a3173e7875e4e3e04853931f28b5a537"
ARN = f"arn:aws:lambda:us-east-1:123456789012:function:math-durable:1/durable-execution/{NAME}/7d3e"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:math-durable"
TABLE = "calculations"
# The run's clock: 12:01:00. The item started a minute before; an abandoned start's deadline was 12:00:30.
NOW = datetime(2026, 11, 29, 12, 1, 0, tzinfo=UTC)
STARTED_TEXT = "2026-11-29T12:00:00.000000Z"
STARTED_AT = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
ENDED_AT = datetime(2026, 11, 29, 12, 0, 2, 250000, tzinfo=UTC)
# 12:00:02.25 + 14 days
EXPIRES = "1797163202"
DOCUMENT = '{"Add":15,"Subtract":5,"Multiply":50,"Division":2.0}'
FAILED_DOCUMENT = (
    '{"error_details":"One or more operations failed","errors":{"Division":"division by zero"},'
    '"Add":10,"Subtract":10,"Multiply":0}'
)


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("CALCULATIONS_TABLE_NAME", TABLE)
    monkeypatch.setenv("MATH_FUNCTION_NAME", f"{FUNCTION}:live")
    monkeypatch.delenv("RETENTION_PERIOD_DAYS", raising=False)
    caches = (reconciler.get_settings, reconciler.dynamodb_client, reconciler.lambda_client)
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def table() -> Iterator[Stubber]:
    """With nothing queued, any DynamoDB call fails the test."""
    with Stubber(reconciler.dynamodb_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def lambda_() -> Iterator[Stubber]:
    """With nothing queued, any Lambda call fails the test."""
    with Stubber(reconciler.lambda_client()) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@dataclass
class FakeClock:
    """Monotonic seconds that only sleeping moves on."""

    now: float = 100.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def make_reconciler(get_budget: int = 10, list_budget: int = 10) -> reconciler.Reconciler:
    clock = FakeClock()
    return reconciler.Reconciler(
        dynamodb=reconciler.dynamodb_client(),
        lambda_=reconciler.lambda_client(),
        table=TABLE,
        function_name=f"{FUNCTION}:live",
        retention_days=14,
        gets=reconciler.Pace(10, get_budget, clock, clock.sleep),
        lists=reconciler.Pace(5, list_budget, clock, clock.sleep),
        now=lambda: NOW,
    )


# Table states: the open index's item as the reconciler reads it.
TABLE_STATES = {
    "running with its arn": {"status": {"S": "RUNNING"}, "executionArn": {"S": ARN}},
    "no arn before its deadline": {"status": {"S": "RUNNING"}, "startDeadline": {"N": "1795953661"}},
    "no arn past its deadline": {"status": {"S": "RUNNING"}, "startDeadline": {"N": "1795953630"}},
    "ended": {"status": {"S": "SUCCEEDED"}, "executionArn": {"S": ARN}},
}


def index_item(state: str) -> dict[str, Any]:
    return {
        "executionName": {"S": NAME},
        "openShard": {"S": "0"},
        "startedAt": {"S": STARTED_TEXT},
        **TABLE_STATES[state],
    }


@dataclass(frozen=True)
class LambdaState:
    status: str | None
    """None: Lambda does not know the execution."""
    result: str | None = None
    error: dict[str, str] | None = None
    recorded_status: str | None = None
    """The calculation's status the table must get (terminal states only)."""


LAMBDA_STATES = {
    "running": LambdaState("RUNNING"),
    "succeeded": LambdaState("SUCCEEDED", result=DOCUMENT, recorded_status="SUCCEEDED"),
    "succeeded with failed operations": LambdaState(
        "SUCCEEDED", result=FAILED_DOCUMENT, recorded_status="FAILED"
    ),
    "failed": LambdaState(
        "FAILED",
        error={"ErrorType": "durable_math.InvalidInputError", "ErrorMessage": "num1 must be a number"},
        recorded_status="FAILED",
    ),
    "timed out": LambdaState("TIMED_OUT", recorded_status="TIMED_OUT"),
    "stopped": LambdaState(
        "STOPPED", error={"ErrorType": "StoppedByUser", "ErrorMessage": "stopped"}, recorded_status="STOPPED"
    ),
    "not found": LambdaState(None),
}


def execution(state: LambdaState) -> dict[str, Any]:
    """GetDurableExecution's answer."""
    answer: dict[str, Any] = {
        "DurableExecutionArn": ARN,
        "DurableExecutionName": NAME,
        "FunctionArn": f"{FUNCTION}:1",
        "Status": state.status,
        "StartTimestamp": STARTED_AT,
    }
    if state.status != "RUNNING":
        answer["EndTimestamp"] = ENDED_AT
    if state.result:
        answer["Result"] = state.result
    if state.error:
        answer["Error"] = state.error
    return answer


def summary(state: LambdaState) -> dict[str, Any]:
    """One entry of ListDurableExecutionsByFunction's answer."""
    return {
        "DurableExecutionArn": ARN,
        "DurableExecutionName": NAME,
        "FunctionArn": f"{FUNCTION}:1",
        "Status": state.status,
        "StartTimestamp": STARTED_AT,
    }


GET_PARAMS = {"DurableExecutionArn": ARN, "IncludeExecutionData": True}
LIST_PARAMS = {"FunctionName": FUNCTION, "Qualifier": "live", "DurableExecutionName": NAME}


def outcome_update(state: LambdaState) -> dict[str, Any]:
    """The one conditional write of an end: status, end, expiry, result or error, ARN; closed."""
    # A stop or a time-out is Lambda's word: it also ends what the Record step wrote a moment before.
    outside = state.recorded_status in ("STOPPED", "TIMED_OUT")
    assignments = [
        "#status = :status",
        "#endedAt = :endedAt" if outside else "#endedAt = if_not_exists(#endedAt, :endedAt)",
        "#expiresAt = :expiresAt",
    ]
    names = {"#status": "status", "#endedAt": "endedAt", "#expiresAt": "expiresAt"}
    values = {
        ":status": {"S": state.recorded_status},
        ":running": {"S": "RUNNING"},
        **({":true": {"BOOL": True}} if outside else {}),
        ":endedAt": {"S": "2026-11-29T12:00:02.250000Z"},
        ":expiresAt": {"N": EXPIRES},
        ":executionArn": {"S": ARN},
    }
    if state.result:
        assignments.append("#result = :result")
        names["#result"] = "result"
        values[":result"] = {"S": state.result}
    if state.error:
        assignments += ["#errorType = :errorType", "#errorMessage = :errorMessage"]
        names |= {"#errorType": "errorType", "#errorMessage": "errorMessage"}
        values[":errorType"] = {"S": state.error["ErrorType"]}
        values[":errorMessage"] = {"S": state.error["ErrorMessage"]}
    assignments.append("#executionArn = if_not_exists(#executionArn, :executionArn)")
    names |= {
        "#executionArn": "executionArn",
        "#executionName": "executionName",
        "#openShard": "openShard",
        "#startDeadline": "startDeadline",
    }
    if outside:
        names |= {"#endUnconfirmed": "endUnconfirmed", "#result": "result"}
    return {
        "TableName": TABLE,
        "Key": {"executionName": {"S": NAME}},
        "UpdateExpression": "SET "
        + ", ".join(assignments)
        + " REMOVE #openShard, #startDeadline"
        + (", #endUnconfirmed, #result" if outside else ""),
        "ConditionExpression": (
            "attribute_exists(#executionName) AND (#status = :running OR #endUnconfirmed = :true)"
            if outside
            else "attribute_exists(#executionName) AND #status = :running"
        )
        + " AND (attribute_not_exists(#executionArn) OR #executionArn = :executionArn)",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


ARN_UPDATE = {
    "TableName": TABLE,
    "Key": {"executionName": {"S": NAME}},
    "UpdateExpression": "SET #executionArn = if_not_exists(#executionArn, :executionArn)"
    " REMOVE #startDeadline",
    "ConditionExpression": "attribute_exists(#executionName)",
    "ExpressionAttributeNames": {
        "#executionName": "executionName",
        "#executionArn": "executionArn",
        "#startDeadline": "startDeadline",
    },
    "ExpressionAttributeValues": {":executionArn": {"S": ARN}},
}
VANISHED_DELETE = {
    "TableName": TABLE,
    "Key": {"executionName": {"S": NAME}},
    "ConditionExpression": "#executionArn = :executionArn AND #status = :running",
    "ExpressionAttributeNames": {"#executionArn": "executionArn", "#status": "status"},
    "ExpressionAttributeValues": {":executionArn": {"S": ARN}, ":running": {"S": "RUNNING"}},
}
ABANDONED_DELETE = {
    "TableName": TABLE,
    "Key": {"executionName": {"S": NAME}},
    "ConditionExpression": "attribute_not_exists(#executionArn) AND #startDeadline <= :now",
    "ExpressionAttributeNames": {"#executionArn": "executionArn", "#startDeadline": "startDeadline"},
    # NOW: 12:01:00
    "ExpressionAttributeValues": {":now": {"N": "1795953660"}},
}


def expect(table: Stubber, lambda_: Stubber, table_state: str, lambda_state: LambdaState) -> str:
    """Queue the calls the pair must make, in order; return what the reconciler must say it did."""
    if table_state == "ended":
        return "already ended"
    if table_state == "no arn before its deadline":
        return "still starting"
    if table_state == "running with its arn":
        if lambda_state.status is None:
            lambda_.add_client_error(
                "get_durable_execution",
                "ResourceNotFoundException",
                http_status_code=404,
                expected_params=GET_PARAMS,
            )
            table.add_response("delete_item", {}, VANISHED_DELETE)
            return "vanished: deleted"
        lambda_.add_response("get_durable_execution", execution(lambda_state), GET_PARAMS)
        if lambda_state.status == "RUNNING":
            return "running"
        table.add_response("update_item", {}, outcome_update(lambda_state))
        return "ended: recorded"
    # No ARN past its deadline: Lambda is asked by name.
    if lambda_state.status is None:
        lambda_.add_response("list_durable_executions_by_function", {"DurableExecutions": []}, LIST_PARAMS)
        table.add_response("delete_item", {}, ABANDONED_DELETE)
        return "abandoned: deleted"
    lambda_.add_response(
        "list_durable_executions_by_function", {"DurableExecutions": [summary(lambda_state)]}, LIST_PARAMS
    )
    if lambda_state.status == "RUNNING":
        table.add_response("update_item", {}, ARN_UPDATE)
        return "started: arn recorded"
    lambda_.add_response("get_durable_execution", execution(lambda_state), GET_PARAMS)
    table.add_response("update_item", {}, outcome_update(lambda_state))
    return "ended: recorded"


@pytest.mark.parametrize("lambda_state", list(LAMBDA_STATES), ids=list(LAMBDA_STATES))
@pytest.mark.parametrize("table_state", list(TABLE_STATES), ids=list(TABLE_STATES))
def test_each_open_item_is_mended_by_what_lambda_says(table, lambda_, table_state, lambda_state):
    # Given an open item in this state, and its execution in that state in Lambda
    done = expect(table, lambda_, table_state, LAMBDA_STATES[lambda_state])
    record = reconciler.Record.from_item(index_item(table_state))

    # When the reconciler mends it, Then it makes exactly the queued calls and says what it did
    assert make_reconciler().mend(record) == done


def test_an_item_that_changed_since_it_was_read_is_left_as_it_is(table, lambda_):
    # Given an abandoned start whose ARN is recorded between the index read and the delete
    lambda_.add_response("list_durable_executions_by_function", {"DurableExecutions": []}, LIST_PARAMS)
    table.add_client_error(
        "delete_item",
        "ConditionalCheckFailedException",
        http_status_code=400,
        expected_params=ABANDONED_DELETE,
    )

    # Then the conditional delete refuses, and nothing else happens
    record = reconciler.Record.from_item(index_item("no arn past its deadline"))
    assert make_reconciler().mend(record) == "changed meanwhile"


def test_only_an_execution_of_exactly_this_name_counts(table, lambda_):
    # Given Lambda lists another name beside it (its name filter is not documented as exact)
    other = {**summary(LAMBDA_STATES["running"]), "DurableExecutionName": NAME + "-2"}
    lambda_.add_response("list_durable_executions_by_function", {"DurableExecutions": [other]}, LIST_PARAMS)
    table.add_response("delete_item", {}, ABANDONED_DELETE)

    record = reconciler.Record.from_item(index_item("no arn past its deadline"))
    assert make_reconciler().mend(record) == "abandoned: deleted"


def test_a_spent_budget_defers_the_call_to_the_next_run(table, lambda_):
    # Given a run with no Get and no List left, When items needing each are met
    spent = make_reconciler(get_budget=0, list_budget=0)

    # Then nothing is called (the stubs refuse any call) and both are deferred
    assert spent.mend(reconciler.Record.from_item(index_item("running with its arn"))) == "deferred"
    assert spent.mend(reconciler.Record.from_item(index_item("no arn past its deadline"))) == "deferred"


def test_an_ended_start_found_with_no_get_left_records_its_arn_for_the_next_run(table, lambda_):
    lambda_.add_response(
        "list_durable_executions_by_function",
        {"DurableExecutions": [summary(LAMBDA_STATES["succeeded"])]},
        LIST_PARAMS,
    )
    table.add_response("update_item", {}, ARN_UPDATE)

    record = reconciler.Record.from_item(index_item("no arn past its deadline"))
    assert make_reconciler(get_budget=0).mend(record) == "started: arn recorded"


def test_the_deployed_pace_stays_well_under_lambdas_default_quotas():
    # GetDurableExecution 30/s and ListDurableExecutionsByFunction 15/s per account: a third at most
    assert reconciler.GET_RATE <= 10
    assert reconciler.LIST_RATE <= 5
    # A run's calls fit in under a minute, the schedule's period
    assert reconciler.GET_BUDGET / reconciler.GET_RATE + reconciler.LIST_BUDGET / reconciler.LIST_RATE <= 45


def open_query(shard: int, start_key: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "TableName": TABLE,
        "IndexName": "byOpenShard",
        "KeyConditionExpression": "#openShard = :shard AND #startedAt < :before",
        "ExpressionAttributeNames": {"#openShard": "openShard", "#startedAt": "startedAt"},
        # NOW less the 10 s grace
        "ExpressionAttributeValues": {
            ":shard": {"S": str(shard)},
            ":before": {"S": "2026-11-29T12:00:50.000000Z"},
        },
        "ScanIndexForward": True,
        **({"ExclusiveStartKey": start_key} if start_key else {}),
    }


def test_a_run_reads_every_shard_of_the_open_index_to_its_last_page(table, lambda_):
    # Given shard 0 with two pages (a start still within its deadline on the second), the others empty
    page_key = {"executionName": {"S": "calc-x"}, "openShard": {"S": "0"}, "startedAt": {"S": STARTED_TEXT}}
    table.add_response("query", {"Items": [], "LastEvaluatedKey": page_key}, open_query(0))
    table.add_response(
        "query", {"Items": [index_item("no arn before its deadline")]}, open_query(0, page_key)
    )
    for shard in range(1, 8):
        table.add_response("query", {"Items": []}, open_query(shard))

    # When a run goes through the table
    counts = make_reconciler().run()

    # Then each of the 8 shards was queried (the stub checks each), and the one item counted
    assert counts == {"still starting": 1}


def test_the_handler_reconciles_with_its_settings_and_answers_the_counts(table, lambda_):
    # Given an empty open index (the time the handler reads is the wall clock: any)
    for shard in range(8):
        query = open_query(shard)
        query["ExpressionAttributeValues"] = {":shard": {"S": str(shard)}, ":before": ANY}
        table.add_response("query", {"Items": []}, query)

    # When the schedule invokes it, Then it reads the table named in its settings and reports nothing done
    assert reconciler.lambda_handler({}, LambdaContext()) == {}


@dataclass
class LambdaContext:
    function_name: str = "reconciler"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:reconciler"
    aws_request_id: str = "b1e7c0de-0000-4000-8000-000000000002"
