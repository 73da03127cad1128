"""The Powertools Tracer, with the X-Ray SDK loaded only when traces are recorded.

`Tracer()` imports `aws_xray_sdk.core` even when tracing is off, and that import builds the
X-Ray recorder, whose sampler creates botocore X-Ray clients: about 90 ms of every cold start,
for nothing outside Lambda (tests, the local runtime, `POWERTOOLS_TRACE_DISABLED=true`). A
disabled Tracer still opens a subsegment around every decorated call, so when Powertools'
own rule says tracing is off, the Tracer gets a provider that records nothing instead.
In Lambda with tracing on, it is the ordinary X-Ray Tracer.
"""

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from powertools_internals import tracing_disabled


class UnrecordedSegment(BaseSegment):
    """A subsegment of a trace that is not recorded: every write is dropped."""

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class UnrecordedTraces(BaseProvider):
    """The Tracer's provider while tracing is off: what the X-Ray SDK does when disabled, without it."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield UnrecordedSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield UnrecordedSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


def create_tracer() -> Tracer:
    """The function's Tracer: X-Ray in Lambda with tracing on, nothing loaded or recorded otherwise."""
    # Powertools' own rule, so the Tracer is disabled exactly when it would be by default.
    if tracing_disabled():
        return Tracer(provider=UnrecordedTraces())
    return Tracer()
