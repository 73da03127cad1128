"""The API's contract: request, response and problem models. How records become them: views.py."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from calculation_facts import (
    CALCULATION_ID_PATTERN,
    CALCULATION_ID_RULE,
    ERROR_DETAILS,
    OPERATION_NAMES,
    is_finite_number,
)
from settings import PAGE_SIZE_CEILING

JSON_TYPE_NAMES = {
    str: "a string",
    bool: "a boolean",
    type(None): "null",
    list: "an array",
    dict: "an object",
}


def _json_number(value: Any) -> Any:
    """One clear reason per field: JSON numbers only (no strings, booleans, null), and finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = JSON_TYPE_NAMES.get(type(value), type(value).__name__)
        raise PydanticCustomError("json_number", "must be a JSON number, got {kind}", {"kind": kind})
    # NaN, Infinity, and an integer beyond the largest float (Division would overflow), alike.
    if not is_finite_number(value):
        raise PydanticCustomError(
            "finite_number", "must be a finite number (NaN, Infinity and numbers beyond 1.8e308 are refused)"
        )
    return value


# A JSON number: integers may go beyond int64 (up to 1.8e308), so the schema says `number`, not `integer`.
NUMBER_SCHEMA = WithJsonSchema({"type": "number"})
JsonNumber = Annotated[StrictInt | StrictFloat, BeforeValidator(_json_number), NUMBER_SCHEMA]
ResultNumber = Annotated[float | int, NUMBER_SCHEMA]

# Limits of the request fields, enforced by the routes' declarations. `FIELD_RULES` is each
# constrained field's 422 message when a value is too long or does not match its pattern.
ID_MAX_LENGTH = 64
# A header's text: visible ASCII, spaces and tabs (RFC 9110's field value without obsolete bytes).
HEADER_TEXT_PATTERN = r"^[\t\x20-\x7E]*$"
PREFER_MAX_LENGTH = 256
IF_NONE_MATCH_MAX_LENGTH = 1024
CURSOR_MAX_LENGTH = 4096
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
CURSOR_RULE = "is not a cursor this API issued"
FIELD_RULES = {
    "id": CALCULATION_ID_RULE,
    "Idempotency-Key": CALCULATION_ID_RULE,
    "Prefer": f"must be at most {PREFER_MAX_LENGTH} characters of visible ASCII, e.g. wait=10",
    "If-None-Match": f"must be at most {IF_NONE_MATCH_MAX_LENGTH} characters of visible ASCII, e.g. an ETag",
    "cursor": CURSOR_RULE,
}

# Limits of the answers. Free text that comes from AWS or from the request is cut to its limit
# (`cut`), so that an answer always fits its schema; the rest is bounded by what produces it.
LINK_MAX_LENGTH = 512  # the stage name or base path (at most 128 characters) + /calculations/{id}/history
TIME_MAX_LENGTH = 32  # 2025-12-01T12:00:00.123456+00:00
NAME_MAX_LENGTH = 256  # an error type, a field name
MESSAGE_MAX_LENGTH = 1024
INSTANCE_MAX_LENGTH = 2048
FIELD_ERRORS_MAX_ITEMS = 50
HISTORY_MAX_OPERATIONS = 100  # the math function has 10: Calculate, 4 branches of 1 step each, Record
HISTORY_MAX_ATTEMPTS = 20  # per step; the math function's retry rules make at most 3
INT32_MAX = 2**31 - 1
RETRY_AFTER_MAX_SECONDS = 3600  # AWS's own retryAfterSeconds is capped to it
# Lambda's own limits on a history event's operation id (the rule of an execution name, which
# is the calculation id's), name and subtype.
OPERATION_ID_PATTERN = CALCULATION_ID_PATTERN
OPERATION_NAME_PATTERN = r"^[\x20-\x7E]{1,256}$"
OPERATION_SUBTYPE_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
OperationType = Literal["STEP", "CONTEXT", "WAIT", "CALLBACK", "CHAINED_INVOKE"]
OperationName = Literal[OPERATION_NAMES]  # type: ignore[valid-type]


def cut(limit: int) -> BeforeValidator:
    """Keep the first `limit` characters of a text (or items of a list)."""
    return BeforeValidator(lambda value: value[:limit] if isinstance(value, str | list) else value)


def _drop_longer_than(limit: int) -> BeforeValidator:
    return BeforeValidator(lambda value: None if isinstance(value, str) and len(value) > limit else value)


CalculationId = Annotated[str, Field(max_length=ID_MAX_LENGTH, pattern=CALCULATION_ID_PATTERN)]
Timestamp = Annotated[datetime, Field(json_schema_extra={"maxLength": TIME_MAX_LENGTH})]
Link = Annotated[str, Field(max_length=LINK_MAX_LENGTH, json_schema_extra={"format": "uri-reference"})]
ErrorType = Annotated[str, cut(NAME_MAX_LENGTH), Field(max_length=NAME_MAX_LENGTH)]
Message = Annotated[str, cut(MESSAGE_MAX_LENGTH), Field(max_length=MESSAGE_MAX_LENGTH)]
OperationId = Annotated[str, Field(max_length=ID_MAX_LENGTH, pattern=OPERATION_ID_PATTERN)]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def document(self) -> dict[str, Any]:
        """The JSON body: camelCase names, no empty fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class CalculationRequest(BaseModel):
    """Two JSON numbers; a missing one is 0."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"num1": 10, "num2": 5}]})

    num1: Annotated[JsonNumber, Field(description="First operand, a finite JSON number", examples=[10])] = 0
    num2: Annotated[JsonNumber, Field(description="Second operand, a finite JSON number", examples=[5])] = 0


class CalculationStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


class Links(ApiModel):
    self_: Annotated[Link, Field(alias="self", description="This calculation")]
    result: Annotated[Link, Field(description="The result document once it has ended")]
    history: Annotated[Link, Field(description="Per-operation progress")]
    stop: Annotated[Link, Field(description="POST here to stop it while it runs")]

    @classmethod
    def of(cls, calculation_id: str, base_path: str = "") -> "Links":
        """Absolute paths; `base_path` is what the URL holds before them (e.g. the stage)."""
        base = f"{base_path}/calculations/{calculation_id}"
        return cls(self_=base, result=f"{base}/result", history=f"{base}/history", stop=f"{base}/stop")


class FailedOperation(ApiModel):
    operation: Annotated[OperationName, Field(description="Operation name", examples=["Division"])]
    message: Annotated[
        Message, Field(description="Why it failed (cut to 1024 characters)", examples=["division by zero"])
    ]


class ExecutionError(ApiModel):
    type: Annotated[
        ErrorType | None,
        Field(description="Error type (cut to 256 characters)", examples=["durable_math.InvalidInputError"]),
    ] = None
    message: Annotated[
        Message | None,
        Field(
            description="Error message (cut to 1024 characters)", examples=["num1 must be a number, got str"]
        ),
    ] = None

    @classmethod
    def of(cls, error_type: str | None, message: str | None) -> "ExecutionError | None":
        """The error when Lambda reported one; None rather than an empty object."""
        return cls(type=error_type, message=message) if error_type or message else None


class Calculation(ApiModel):
    """A calculation: one durable execution of the math function."""

    id: Annotated[
        CalculationId,
        Field(description="Calculation id: the Idempotency-Key, or one the API made", examples=["c0ffee"]),
    ]
    status: Annotated[CalculationStatus, Field(description="FAILED also when any operation failed")]
    input: Annotated[
        dict[str, JsonValue] | None,
        Field(description="The input the calculation started with", examples=[{"num1": 10, "num2": 5}]),
    ] = None
    started_at: Annotated[Timestamp | None, Field(description="When the execution started (UTC)")] = None
    ended_at: Annotated[Timestamp | None, Field(description="When the execution ended (UTC)")] = None
    result: Annotated[
        dict[str, JsonValue] | None,
        Field(
            description="The four results, when the calculation succeeded",
            examples=[{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}],
        ),
    ] = None
    failed_operations: Annotated[
        list[FailedOperation] | None,
        Field(max_length=len(OPERATION_NAMES), description="Operations that failed, and why"),
    ] = None
    partial_results: Annotated[
        dict[str, JsonValue] | None,
        Field(description="Results of the operations that succeeded when others failed"),
    ] = None
    error: Annotated[
        ExecutionError | None,
        Field(description="Why the execution itself failed, timed out or was stopped"),
    ] = None
    links: Links


class ResultDocument(BaseModel):
    """The durable function's own result: the four results, or error_details with the failures."""

    model_config = ConfigDict(extra="allow")

    Add: ResultNumber | None = None
    Subtract: ResultNumber | None = None
    Multiply: ResultNumber | None = None
    Division: ResultNumber | None = None
    error_details: Annotated[
        Literal[ERROR_DETAILS] | None,  # type: ignore[valid-type]
        Field(description="Present when any operation failed"),
    ] = None
    errors: Annotated[
        dict[OperationName, Annotated[str, Field(max_length=MESSAGE_MAX_LENGTH)]] | None,
        Field(description="Failed operation → reason"),
    ] = None


class CalculationSummary(ApiModel):
    id: CalculationId
    status: Annotated[
        CalculationStatus,
        Field(description="FAILED also when any operation failed; open the calculation to see which"),
    ]
    started_at: Timestamp
    ended_at: Timestamp | None = None
    links: Links


class CalculationPage(ApiModel):
    items: Annotated[
        list[CalculationSummary], Field(max_length=PAGE_SIZE_CEILING, description="Newest first")
    ]
    next_cursor: Annotated[
        str | None,
        Field(
            max_length=CURSOR_MAX_LENGTH,
            pattern=CURSOR_PATTERN,
            description="Pass as `cursor` for the next page",
        ),
    ] = None


class OperationStatus(StrEnum):
    STARTED = "STARTED"
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


class Attempt(ApiModel):
    """One attempt of a step: when it ran, how it ended, and the wait before the next one."""

    number: Annotated[
        int, Field(ge=1, le=INT32_MAX, json_schema_extra={"format": "int32"}, description="1 for the first")
    ]
    status: Annotated[OperationStatus, Field(description="STARTED while it runs, then how it ended")]
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    error: ExecutionError | None = None
    retry_delay_seconds: Annotated[
        int | None,
        Field(
            ge=0,
            le=INT32_MAX,
            json_schema_extra={"format": "int32"},
            description="After a failure that is retried: the wait before the next attempt",
        ),
    ] = None


class Operation(ApiModel):
    id: Annotated[OperationId, Field(description="Operation id, unique within the execution")]
    name: Annotated[
        str | None,
        Field(
            max_length=256,
            pattern=OPERATION_NAME_PATTERN,
            description="Operation name, e.g. Calculate, Add, Division",
        ),
    ] = None
    type: Annotated[OperationType, Field(description="The kind of operation", examples=["STEP"])]
    sub_type: Annotated[
        str | None,
        Field(
            max_length=32,
            pattern=OPERATION_SUBTYPE_PATTERN,
            description="e.g. Parallel, ParallelBranch, Step",
        ),
    ] = None
    parent_id: Annotated[OperationId | None, Field(description="The enclosing operation")] = None
    status: Annotated[OperationStatus, Field(description="PENDING: a retry is scheduled")]
    attempts: Annotated[
        Annotated[int, Field(json_schema_extra={"format": "int32"})] | None,
        Field(ge=0, le=INT32_MAX, description="Attempts made (steps only)"),
    ] = None
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    error: ExecutionError | None = None
    attempt_details: Annotated[
        list[Attempt] | None,
        Field(
            max_length=HISTORY_MAX_ATTEMPTS,
            description=f"Steps only: each attempt in order, the first {HISTORY_MAX_ATTEMPTS}",
        ),
    ] = None


class History(ApiModel):
    id: CalculationId
    ended: Annotated[bool, Field(description="True once the execution has ended")]
    operations: Annotated[
        list[Operation],
        cut(HISTORY_MAX_OPERATIONS),
        Field(
            max_length=HISTORY_MAX_OPERATIONS,
            description="In the order they started; the first 100 (the math function has 10)",
        ),
    ]


class FieldError(BaseModel):
    field: Annotated[
        str,
        cut(NAME_MAX_LENGTH),
        Field(
            max_length=NAME_MAX_LENGTH,
            description="The field, parameter or header at fault (cut to 256 characters)",
            examples=["num1"],
        ),
    ]
    message: Annotated[
        Message, Field(description="Why it was refused", examples=["must be a JSON number, got a string"])
    ]


class Problem(BaseModel):
    """An RFC 9457 problem document (application/problem+json)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "the request has invalid fields",
                    "instance": "/calculations",
                    "errors": [{"field": "num1", "message": "must be a JSON number, got a string"}],
                }
            ]
        }
    )

    type: Annotated[
        str,
        Field(
            max_length=256,
            json_schema_extra={"format": "uri-reference"},
            description="A URI reference identifying the problem type",
        ),
    ] = "about:blank"
    title: Annotated[
        str, Field(max_length=64, pattern=r"^[A-Za-z][A-Za-z' -]*$", description="The status's reason phrase")
    ]
    status: Annotated[
        int, Field(ge=100, le=599, json_schema_extra={"format": "int32"}, description="The HTTP status code")
    ]
    detail: Annotated[
        Message | None, Field(description="What went wrong with this request (cut to 1024 characters)")
    ] = None
    instance: Annotated[
        Annotated[str, Field(max_length=INSTANCE_MAX_LENGTH)] | None,
        _drop_longer_than(INSTANCE_MAX_LENGTH),
        Field(description="The request path (left out when longer than 2048 characters)"),
    ] = None
    errors: Annotated[
        Annotated[list[FieldError], cut(FIELD_ERRORS_MAX_ITEMS), Field(max_length=FIELD_ERRORS_MAX_ITEMS)]
        | None,
        Field(description="Each refused field, the first 50 (422 only)"),
    ] = None
