"""The `/calculations` resource: each route takes validated input, makes one service call and
answers with a contract model. Errors are raised, and mapped to problems in problems.py."""

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field

import service
import views
from caching import cacheable
from calculation_facts import CALCULATION_ID_PATTERN, CALCULATION_ID_RULE
from errors import InvalidParameter
from http_responses import NO_STORE, base_path, json_response, location, running_headers
from identity import caller_owner
from models import (
    CURSOR_MAX_LENGTH,
    CURSOR_PATTERN,
    HEADER_TEXT_PATTERN,
    ID_MAX_LENGTH,
    IDEMPOTENCY_KEY,
    IF_NONE_MATCH,
    IF_NONE_MATCH_MAX_LENGTH,
    PREFER,
    PREFER_MAX_LENGTH,
    Calculation,
    CalculationPage,
    CalculationRequest,
    CalculationStatus,
    History,
    ResultDocument,
)
from observability import logger, metrics, tracer
from openapi_docs import responses
from openapi_examples import CALCULATION_EXAMPLES, REQUEST_EXAMPLES, RESULT_EXAMPLES
from routing import TableRouter
from settings import PAGE_SIZE_CEILING, get_settings
from waiting import prefer_wait, preference_applied

router = TableRouter()

CALCULATION_ID_DOC = f"Calculation id: {CALCULATION_ID_RULE.removeprefix('must be ')}"
CalculationId = Annotated[
    str,
    Path(
        pattern=CALCULATION_ID_PATTERN,
        max_length=ID_MAX_LENGTH,
        description=CALCULATION_ID_DOC,
        examples=["c0ffee"],
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias=IF_NONE_MATCH,
        pattern=HEADER_TEXT_PATTERN,
        max_length=IF_NONE_MATCH_MAX_LENGTH,
        description="ETag of a copy you hold (or several, or `*`); 304 when it is still current",
    ),
]


def _owner() -> str:
    return caller_owner(router.current_event.raw_event.get("requestContext"))


@router.post(
    "/calculations",
    summary="Start a calculation",
    description=(
        "Starts the durable function with the two numbers. `Idempotency-Key` makes the start safe to "
        "retry: the same key and body answer with the same calculation, another body is a 409. "
        "`Prefer: wait=N` waits up to N seconds (capped) for the calculation to finish. "
        "200 means the calculation has ended: within the wait, or before a retry with the same key."
    ),
    tags=["calculations"],
    responses=responses(
        {
            200: (
                "Ended: it finished within the wait asked by `Prefer: wait=N`, or this is a retry with "
                "the same `Idempotency-Key` and body of a calculation that has ended (no `Prefer` needed; "
                "`Preference-Applied` only when the answer waited)",
                Calculation,
                "Location",
                "Preference-Applied",
            ),
            202: ("Started (or already running); follow `Location`", Calculation, "Location", "Retry-After"),
        },
        400,
        409,
        413,
        415,
        422,
        examples={200: CALCULATION_EXAMPLES},
    ),
    operation_id="startCalculation",
)
@tracer.capture_method
def start_calculation(
    request: Annotated[CalculationRequest, Body(openapi_examples=REQUEST_EXAMPLES)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_KEY,
            pattern=CALCULATION_ID_PATTERN,
            max_length=ID_MAX_LENGTH,
            description=f"Becomes the calculation id: {CALCULATION_ID_RULE.removeprefix('must be ')}",
        ),
    ] = None,
    prefer: Annotated[
        str | None,
        Header(
            alias=PREFER,
            pattern=HEADER_TEXT_PATTERN,
            max_length=PREFER_MAX_LENGTH,
            description="`wait=N` (RFC 7240): wait up to N seconds for the result",
        ),
    ] = None,
):
    calculation_id = idempotency_key or uuid.uuid4().hex
    logger.append_keys(calculation_id=calculation_id)
    wait = prefer_wait(prefer)
    started = service.start(_owner(), calculation_id, request.model_dump(), wait)

    if started.replayed:
        metrics.add_metric(name="IdempotentReplays", unit=MetricUnit.Count, value=1)
        logger.info("calculation replayed", status=started.calculation.status)
    else:
        metrics.add_metric(name="CalculationsStarted", unit=MetricUnit.Count, value=1)
        logger.info("calculation started")

    event = router.current_event
    document = views.calculation(started.calculation, base_path(event)).document()
    if started.calculation.ended:
        headers = {"Location": location(event, calculation_id), **NO_STORE}
        if started.waited:
            headers["Preference-Applied"] = preference_applied(wait)
        return json_response(200, document, headers)
    return json_response(202, document, running_headers(event, calculation_id))


@router.get(
    "/calculations",
    summary="List your recent calculations",
    description=(
        "Newest first, only the caller's own. Filter by `status`; follow `nextCursor` for the next page."
    ),
    tags=["calculations"],
    responses=responses({200: ("A page of calculations", CalculationPage)}, 422),
    operation_id="listCalculations",
)
@tracer.capture_method
def list_calculations(
    status: Annotated[CalculationStatus | None, Query(description="Only calculations in this status")] = None,
    limit: Annotated[
        Annotated[int, Field(json_schema_extra={"format": "int32"})] | None,
        Query(ge=1, le=PAGE_SIZE_CEILING, description=f"Page size (default 20, at most {PAGE_SIZE_CEILING})"),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=CURSOR_MAX_LENGTH,
            pattern=CURSOR_PATTERN,
            description="`nextCursor` of the previous page",
        ),
    ] = None,
):
    settings = get_settings()
    # The schema reads `limit` as Python's int() would: `1_0`, `+2` and ` 2` too.
    written = (router.current_event.multi_value_query_string_parameters or {}).get("limit", [])
    if not all(value.isascii() and value.isdigit() for value in written):
        raise InvalidParameter("limit", "must be a whole number written in digits, such as 20")
    limit = limit or settings.list_default_limit
    if limit > settings.list_max_limit:
        raise InvalidParameter("limit", f"must be at most {settings.list_max_limit}")
    records, next_cursor = service.list_page(_owner(), status.value if status else None, limit, cursor)
    prefix = base_path(router.current_event)
    page = CalculationPage(
        items=[views.summary(record, prefix) for record in records], next_cursor=next_cursor
    )
    return json_response(200, page.document(), NO_STORE)


@router.get(
    "/calculations/<id>",
    summary="Get a calculation",
    description=(
        "Status, input, timestamps, and the result once it has ended. A calculation whose operations "
        "failed is FAILED and lists them with the partial results. Finished calculations carry an ETag."
    ),
    tags=["calculations"],
    responses=responses(
        {200: ("The calculation", Calculation, "ETag"), 304: ("Not modified", None, "ETag")},
        404,
        422,
        examples={200: CALCULATION_EXAMPLES},
    ),
    operation_id="getCalculation",
)
@tracer.capture_method
def get_calculation(id: CalculationId, if_none_match: IfNoneMatch = None):
    logger.append_keys(calculation_id=id)
    calculation = service.get(_owner(), id)
    document = views.calculation(calculation, base_path(router.current_event)).document()
    return cacheable(document, calculation.ended, if_none_match)


@router.get(
    "/calculations/<id>/result",
    summary="Get the result document",
    description=(
        "The durable function's own result once it has ended with one (also when operations failed: "
        "the error_details document). 202 while it runs; 409 when it ended without a result."
    ),
    tags=["calculations"],
    responses=responses(
        {
            200: ("The result document", ResultDocument, "ETag"),
            202: ("Still running; retry after Retry-After", Calculation, "Location", "Retry-After"),
            304: ("Not modified", None, "ETag"),
        },
        404,
        409,
        422,
        examples={200: RESULT_EXAMPLES},
    ),
    operation_id="getResult",
)
@tracer.capture_method
def get_result(id: CalculationId, if_none_match: IfNoneMatch = None):
    logger.append_keys(calculation_id=id)
    calculation, document = service.result(_owner(), id)
    event = router.current_event
    if document is None:
        return json_response(
            202, views.calculation(calculation, base_path(event)).document(), running_headers(event, id)
        )
    return cacheable(document, True, if_none_match)


@router.get(
    "/calculations/<id>/history",
    summary="Get per-operation progress",
    description=(
        "Each operation (Calculate, then Add, Subtract, Multiply and Division, then Record): "
        "status, attempts, start and end times, error."
    ),
    tags=["calculations"],
    responses=responses(
        {200: ("The operations", History, "ETag"), 304: ("Not modified", None, "ETag")}, 404, 422
    ),
    operation_id="getHistory",
)
@tracer.capture_method
def get_history(id: CalculationId, if_none_match: IfNoneMatch = None):
    logger.append_keys(calculation_id=id)
    events, ended = service.history(_owner(), id)
    return cacheable(views.history(id, events, ended).document(), ended, if_none_match)


@router.post(
    "/calculations/<id>/stop",
    summary="Stop a running calculation",
    description="Stops the durable execution; 409 when the calculation has already ended.",
    tags=["calculations"],
    responses=responses({200: ("The stopped calculation", Calculation)}, 404, 409, 422),
    operation_id="stopCalculation",
)
@tracer.capture_method
def stop_calculation(id: CalculationId):
    logger.append_keys(calculation_id=id)
    calculation = service.stop(_owner(), id)
    logger.info("calculation stopped")
    return json_response(
        200, views.calculation(calculation, base_path(router.current_event)).document(), NO_STORE
    )


@router.delete(
    "/calculations/<id>",
    summary="Delete an ended calculation",
    description=(
        "Removes the calculation and Lambda's record of its execution. 409 while it runs (stop it "
        "first); otherwise a calculation is kept for the durable function's retention period."
    ),
    tags=["calculations"],
    responses=responses({204: ("Deleted", None)}, 404, 409, 422),
    operation_id="deleteCalculation",
)
@tracer.capture_method
def delete_calculation(id: CalculationId):
    logger.append_keys(calculation_id=id)
    service.delete(_owner(), id)
    logger.info("calculation deleted")
    return Response(status_code=204, content_type=None, body="", headers=NO_STORE)
