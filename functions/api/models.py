"""The API's contract: request, response and problem models. How records become them: views.py."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictFloat,
    StrictInt,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from calculation_facts import is_finite_number

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


JsonNumber = Annotated[StrictInt | StrictFloat, BeforeValidator(_json_number)]


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
    self_: Annotated[str, Field(alias="self", description="This calculation")]
    result: Annotated[str, Field(description="The result document once it has ended")]
    history: Annotated[str, Field(description="Per-operation progress")]
    stop: Annotated[str, Field(description="POST here to stop it while it runs")]

    @classmethod
    def of(cls, calculation_id: str, base_path: str = "") -> "Links":
        """Absolute paths; `base_path` is what the URL holds before them (e.g. the stage)."""
        base = f"{base_path}/calculations/{calculation_id}"
        return cls(self_=base, result=f"{base}/result", history=f"{base}/history", stop=f"{base}/stop")


class FailedOperation(ApiModel):
    operation: Annotated[str, Field(description="Operation name", examples=["Division"])]
    message: Annotated[str, Field(description="Why it failed", examples=["division by zero"])]


class ExecutionError(ApiModel):
    type: Annotated[
        str | None, Field(description="Error type", examples=["durable_math.InvalidInputError"])
    ] = None
    message: Annotated[
        str | None, Field(description="Error message", examples=["num1 must be a number, got str"])
    ] = None

    @classmethod
    def of(cls, error_type: str | None, message: str | None) -> "ExecutionError | None":
        """The error when Lambda reported one; None rather than an empty object."""
        return cls(type=error_type, message=message) if error_type or message else None


class Calculation(ApiModel):
    """A calculation: one durable execution of the math function."""

    id: Annotated[
        str,
        Field(description="Calculation id: the Idempotency-Key, or one the API made", examples=["c0ffee"]),
    ]
    status: Annotated[CalculationStatus, Field(description="FAILED also when any operation failed")]
    input: Annotated[
        dict[str, JsonValue] | None,
        Field(description="The input the calculation started with", examples=[{"num1": 10, "num2": 5}]),
    ] = None
    started_at: Annotated[datetime | None, Field(description="When the execution started (UTC)")] = None
    ended_at: Annotated[datetime | None, Field(description="When the execution ended (UTC)")] = None
    result: Annotated[
        dict[str, JsonValue] | None,
        Field(
            description="The four results, when the calculation succeeded",
            examples=[{"Add": 15, "Subtract": 5, "Multiply": 50, "Division": 2.0}],
        ),
    ] = None
    failed_operations: Annotated[
        list[FailedOperation] | None, Field(description="Operations that failed, and why")
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

    Add: float | int | None = None
    Subtract: float | int | None = None
    Multiply: float | int | None = None
    Division: float | int | None = None
    error_details: Annotated[str | None, Field(description="Present when any operation failed")] = None
    errors: Annotated[dict[str, str] | None, Field(description="Failed operation → reason")] = None


class CalculationSummary(ApiModel):
    id: str
    status: Annotated[
        CalculationStatus,
        Field(description="FAILED also when any operation failed; open the calculation to see which"),
    ]
    started_at: datetime
    ended_at: datetime | None = None
    links: Links


class CalculationPage(ApiModel):
    items: Annotated[list[CalculationSummary], Field(description="Newest first")]
    next_cursor: Annotated[str | None, Field(description="Pass as `cursor` for the next page")] = None


class OperationStatus(StrEnum):
    STARTED = "STARTED"
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


class Operation(ApiModel):
    id: Annotated[str, Field(description="Operation id, unique within the execution")]
    name: Annotated[str | None, Field(description="Operation name, e.g. Calculate, Add, Division")] = None
    type: Annotated[
        str, Field(description="STEP, CONTEXT, WAIT, CALLBACK or CHAINED_INVOKE", examples=["STEP"])
    ]
    sub_type: Annotated[str | None, Field(description="e.g. Parallel, ParallelBranch, Step")] = None
    parent_id: Annotated[str | None, Field(description="The enclosing operation")] = None
    status: Annotated[OperationStatus, Field(description="PENDING: a retry is scheduled")]
    attempts: Annotated[int | None, Field(description="Attempts made (steps only)")] = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: ExecutionError | None = None


class History(ApiModel):
    id: str
    ended: Annotated[bool, Field(description="True once the execution has ended")]
    operations: Annotated[list[Operation], Field(description="In the order they started")]


class FieldError(BaseModel):
    field: Annotated[str, Field(description="The field, parameter or header at fault", examples=["num1"])]
    message: Annotated[
        str, Field(description="Why it was refused", examples=["must be a JSON number, got a string"])
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

    type: Annotated[str, Field(description="A URI reference identifying the problem type")] = "about:blank"
    title: Annotated[str, Field(description="Short summary of the problem type")]
    status: Annotated[int, Field(description="The HTTP status code")]
    detail: Annotated[str | None, Field(description="What went wrong with this request")] = None
    instance: Annotated[str | None, Field(description="The request path")] = None
    errors: Annotated[list[FieldError] | None, Field(description="Each refused field (422 only)")] = None
