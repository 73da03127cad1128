"""The API's contract: request, response and problem models. How records become them: views.py."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

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
# The request headers the API reads, as the spec, CORS and the 422 problems name them.
IDEMPOTENCY_KEY = "Idempotency-Key"
PREFER = "Prefer"
IF_NONE_MATCH = "If-None-Match"
REQUEST_HEADERS = (IDEMPOTENCY_KEY, PREFER, IF_NONE_MATCH)
# The header API Gateway reads each consumer's key from.
API_KEY_HEADER = "x-api-key"
CURSOR_MAX_LENGTH = 4096
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
CURSOR_RULE = "is not a cursor this API issued"
FIELD_RULES = {
    "id": CALCULATION_ID_RULE,
    IDEMPOTENCY_KEY: CALCULATION_ID_RULE,
    PREFER: f"must be at most {PREFER_MAX_LENGTH} characters of visible ASCII, e.g. wait=10",
    IF_NONE_MATCH: f"must be at most {IF_NONE_MATCH_MAX_LENGTH} characters of visible ASCII, e.g. an ETag",
    "cursor": CURSOR_RULE,
}

# Limits of the answers. Free text that comes from AWS or from the request is cut to its limit
# (`cut`), so that an answer always fits its schema; the rest is bounded by what produces it.
LINK_MAX_LENGTH = 512  # the stage name or base path (at most 128 characters) + /calculations/{id}/history
TIME_MAX_LENGTH = 32  # 2025-12-01T12:00:00.123456+00:00
NAME_MAX_LENGTH = 256  # an error type, a field name
MESSAGE_MAX_LENGTH = 1024
INSTANCE_MAX_LENGTH = 2048
PROBLEM_TYPE_MAX_LENGTH = 256
FIELD_ERRORS_MAX_ITEMS = 50
HISTORY_MAX_OPERATIONS = 100  # the math function has 10: Calculate, 4 branches of 1 step each, Record
HISTORY_MAX_ATTEMPTS = 20  # per step; the math function's retry rules make at most 3
INT32_MAX = 2**31 - 1
# Lambda's own limits on a history event's operation id (the rule of an execution name, which
# is the calculation id's), name and subtype.
OPERATION_ID_PATTERN = CALCULATION_ID_PATTERN
OPERATION_NAME_MAX_LENGTH = 256
OPERATION_NAME_PATTERN = rf"^[\x20-\x7E]{{1,{OPERATION_NAME_MAX_LENGTH}}}$"
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


def _title_in_words(name: str, _: object) -> str:
    """`started_at` → "Started at", `self_` → "Self": what generated docs show, not "Startedat"."""
    return name.strip("_").replace("_", " ").capitalize()


class Answer(BaseModel):
    """A document the API answers with. Its fields that are None are left out of the JSON
    (`exclude_none`), so the schema gives them no null branch: absent, never null."""

    model_config = ConfigDict(field_title_generator=_title_in_words)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(core_schema)
        for field in handler.resolve_ref_schema(reference).get("properties", {}).values():
            branches = [branch for branch in field.get("anyOf", []) if branch != {"type": "null"}]
            if len(branches) == 1:
                del field["anyOf"]
                field.update(branches[0])
            if "default" in field and field["default"] is None:
                del field["default"]
        return reference


class ApiModel(Answer):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def document(self) -> dict[str, Any]:
        """The JSON body: camelCase names, no empty fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _request_schema(schema: dict[str, Any]) -> None:
    """The defaults are said in words only: openapi-typescript and others make a field that has a
    `default` required, while either number may be left out."""
    for field in schema["properties"].values():
        del field["default"]
    schema["examples"] = [{"num1": 10, "num2": 5}]


class CalculationRequest(BaseModel):
    """Two JSON numbers; a missing one is 0."""

    model_config = ConfigDict(
        extra="forbid", field_title_generator=_title_in_words, json_schema_extra=_request_schema
    )

    num1: Annotated[
        JsonNumber, Field(description="First operand, a finite JSON number; 0 when left out", examples=[10])
    ] = 0
    num2: Annotated[
        JsonNumber, Field(description="Second operand, a finite JSON number; 0 when left out", examples=[5])
    ] = 0


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
        Message,
        Field(
            description=f"Why it failed (cut to {MESSAGE_MAX_LENGTH} characters)",
            examples=["division by zero"],
        ),
    ]


class ExecutionError(ApiModel):
    type: Annotated[
        ErrorType | None,
        Field(
            description=f"Error type (cut to {NAME_MAX_LENGTH} characters)",
            examples=["durable_math.InvalidInputError"],
        ),
    ] = None
    message: Annotated[
        Message | None,
        Field(
            description=f"Error message (cut to {MESSAGE_MAX_LENGTH} characters)",
            examples=["num1 must be a number, got str"],
        ),
    ] = None

    @classmethod
    def of(cls, error_type: str | None, message: str | None) -> "ExecutionError | None":
        """The error when Lambda reported one; None rather than an empty object."""
        return cls(type=error_type, message=message) if error_type or message else None


class CalculationInput(Answer):
    """The two numbers the calculation started with (a missing one as the 0 it stood for)."""

    num1: Annotated[ResultNumber, Field(description="First operand", examples=[10])]
    num2: Annotated[ResultNumber, Field(description="Second operand", examples=[5])]

    @classmethod
    def of(cls, document: Any) -> "CalculationInput | None":
        """The numbers a record holds, a missing one as the 0 the function reads; None when they are
        not numbers (an execution started outside the API, with input the function refused)."""
        if not isinstance(document, dict):
            return None
        numbers = {name: document.get(name, 0) for name in ("num1", "num2")}
        return cls(**numbers) if all(map(is_finite_number, numbers.values())) else None


class OperationResults(Answer):
    """The four results of a calculation whose operations all succeeded."""

    Add: Annotated[ResultNumber, Field(description="num1 + num2", examples=[15])]
    Subtract: Annotated[ResultNumber, Field(description="num1 - num2", examples=[5])]
    Multiply: Annotated[ResultNumber, Field(description="num1 * num2", examples=[50])]
    Division: Annotated[ResultNumber, Field(description="num1 / num2", examples=[2.0])]


class PartialResults(Answer):
    """The results of the operations that succeeded when others failed; a failed one is absent."""

    Add: Annotated[ResultNumber | None, Field(description="num1 + num2")] = None
    Subtract: Annotated[ResultNumber | None, Field(description="num1 - num2")] = None
    Multiply: Annotated[ResultNumber | None, Field(description="num1 * num2")] = None
    Division: Annotated[ResultNumber | None, Field(description="num1 / num2")] = None


OperationMessage = Annotated[str | None, Field(max_length=MESSAGE_MAX_LENGTH)]


class OperationErrors(Answer):
    """Why each failed operation failed; an operation that succeeded is absent."""

    Add: Annotated[OperationMessage, Field(description="Why Add failed")] = None
    Subtract: Annotated[OperationMessage, Field(description="Why Subtract failed")] = None
    Multiply: Annotated[OperationMessage, Field(description="Why Multiply failed")] = None
    Division: Annotated[
        OperationMessage, Field(description="Why Division failed", examples=["division by zero"])
    ] = None


class Calculation(ApiModel):
    """A calculation: one durable execution of the math function."""

    id: Annotated[
        CalculationId,
        Field(description="Calculation id: the Idempotency-Key, or one the API made", examples=["c0ffee"]),
    ]
    status: Annotated[CalculationStatus, Field(description="FAILED also when any operation failed")]
    input: Annotated[CalculationInput | None, Field(description="The numbers it started with")] = None
    started_at: Annotated[Timestamp | None, Field(description="When the execution started (UTC)")] = None
    ended_at: Annotated[Timestamp | None, Field(description="When the execution ended (UTC)")] = None
    result: Annotated[
        OperationResults | None, Field(description="The four results, when the calculation succeeded")
    ] = None
    failed_operations: Annotated[
        list[FailedOperation] | None,
        Field(max_length=len(OPERATION_NAMES), description="Operations that failed, and why"),
    ] = None
    partial_results: Annotated[
        PartialResults | None,
        Field(description="Results of the operations that succeeded when others failed"),
    ] = None
    error: Annotated[
        ExecutionError | None,
        Field(description="Why the execution itself failed, timed out or was stopped"),
    ] = None
    links: Links


class ResultDocument(Answer):
    """The durable function's own result: the four results, or error_details with the failures."""

    model_config = ConfigDict(extra="forbid")

    Add: Annotated[ResultNumber | None, Field(description="num1 + num2, unless Add failed")] = None
    Subtract: Annotated[ResultNumber | None, Field(description="num1 - num2, unless Subtract failed")] = None
    Multiply: Annotated[ResultNumber | None, Field(description="num1 * num2, unless Multiply failed")] = None
    Division: Annotated[ResultNumber | None, Field(description="num1 / num2, unless Division failed")] = None
    error_details: Annotated[
        Literal[ERROR_DETAILS] | None,  # type: ignore[valid-type]
        Field(description="Present when any operation failed"),
    ] = None
    errors: Annotated[
        OperationErrors | None, Field(description="Present when any operation failed: why each one failed")
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
    """A page of the caller's calculations; it can be empty, also as the last page after a full one."""

    items: Annotated[
        list[CalculationSummary],
        Field(max_length=PAGE_SIZE_CEILING, description="Newest first; empty when no more are left"),
    ]
    next_cursor: Annotated[
        str | None,
        Field(
            max_length=CURSOR_MAX_LENGTH,
            pattern=CURSOR_PATTERN,
            description=(
                "Pass as `cursor` for the next page; absent on the last page. The page it leads to "
                "can be empty: a full page is not known to be the last one"
            ),
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
            max_length=OPERATION_NAME_MAX_LENGTH,
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


class FieldError(Answer):
    field: Annotated[
        str,
        cut(NAME_MAX_LENGTH),
        Field(
            max_length=NAME_MAX_LENGTH,
            description=f"The field, parameter or header at fault (cut to {NAME_MAX_LENGTH} characters)",
            examples=["num1"],
        ),
    ]
    message: Annotated[
        Message, Field(description="Why it was refused", examples=["must be a JSON number, got a string"])
    ]


class Problem(Answer):
    """An RFC 9457 problem document (application/problem+json)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "no calculation has this id",
                    "instance": "/calculations/c0ffee",
                }
            ]
        }
    )

    type: Annotated[
        str,
        Field(
            max_length=PROBLEM_TYPE_MAX_LENGTH,
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
        Message | None,
        Field(
            description=f"What went wrong with this request (cut to {MESSAGE_MAX_LENGTH} characters)",
        ),
    ] = None
    instance: Annotated[
        Annotated[str, Field(max_length=INSTANCE_MAX_LENGTH)] | None,
        _drop_longer_than(INSTANCE_MAX_LENGTH),
        Field(description="The request path (left out when longer than 2048 characters)"),
    ] = None


class ValidationProblem(Problem):
    """A 422 problem: `errors` names each refused field and why."""

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

    errors: Annotated[
        list[FieldError],
        cut(FIELD_ERRORS_MAX_ITEMS),
        Field(
            min_length=1, max_length=FIELD_ERRORS_MAX_ITEMS, description="Each refused field, the first 50"
        ),
    ]
