"""The API's named exceptions: raised by the service and the adapters, mapped to HTTP once (problems.py)."""


class CalculationNotFound(Exception):
    """No calculation of this caller has this id (another consumer's is not found either)."""


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used by this caller with another body."""


class AlreadyEnded(Exception):
    """The calculation has ended, so it cannot be stopped."""

    def __init__(self, status: str | None):
        super().__init__(
            f"the calculation has already ended with status {status}"
            if status
            else "the calculation has already ended; its status is not recorded yet"
        )
        self.status = status


class StillRunning(Exception):
    """The calculation has not ended, so it cannot be deleted."""


class NoResult(Exception):
    """The calculation ended without a result document (stopped, timed out, crashed)."""

    def __init__(self, status: str):
        super().__init__(f"the calculation ended with status {status} and has no result")


class InvalidParameter(Exception):
    """A parameter passed the schema but not the API's own rules (limit, cursor)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class NoCallerIdentity(Exception):
    """The request carries no identity (API key, IAM or authorizer principal) to own calculations."""


class UpstreamCallError(Exception):
    """An AWS call did not give the answer the API needs; `service` names which one."""

    def __init__(self, message: str, service: str, code: str = ""):
        super().__init__(message)
        self.service = service
        self.code = code


class Throttled(UpstreamCallError):
    """AWS refused the call for the account's request rate."""

    def __init__(self, service: str, retry_after: int):
        super().__init__("the service is busy", service, "TooManyRequestsException")
        self.retry_after = retry_after


class Unavailable(UpstreamCallError):
    """AWS could not be reached or failed on its side: worth retrying later."""


class UpstreamError(UpstreamCallError):
    """AWS answered with an error the API cannot turn into a meaningful answer."""
