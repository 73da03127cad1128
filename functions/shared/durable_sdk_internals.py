"""The one place the durable functions (math_durable, webhook_delivery) touch the durable SDK's
private members. In the shared layer so both use it; only they import it, and they bundle the SDK.

In SDK 3.0.0 (the newest release) the background checkpoint thread checks its stop signal only
between waits of up to 100 ms on its queue (`_STOP_SIGNAL_POLL_SECONDS` in the SDK's state.py),
and the handler joins that thread before it returns: ~100 ms of each invocation, billed by
Lambda (`make bench` measures it; README "Performance"). The SDK offers no public way to wake the
thread: `ExecutionState.close()` and the plugins' invocation-end hook run before and after that
join, neither with access to the queue.

What would let this module go: an SDK release whose stop wakes the thread itself (or whose
poll is gone). tests/unit/test_invocation_end.py fails when the SDK no longer honours the
wake-up below; remove the module and its imports in the two durable functions then.
"""

import functools

from aws_durable_execution_sdk_python.state import ExecutionState, _Signal


def wake_checkpoint_thread_on_stop() -> None:
    """End each invocation as soon as its work is done, not on the checkpoint thread's next poll.

    Putting a wake-up item in the queue right after the stop signal lets the thread see the
    signal at once. The item is the SDK's own no-op wake-up (`_Signal.REFRESH_WAKE` on
    `ExecutionState._checkpoint_queue`), which the thread consumes and then exits; nothing else
    about stopping changes. Applied once per process; the local runtime hosts these same
    functions, so they get the same behaviour. The SDK is pinned exactly.
    """
    stop = ExecutionState.stop_checkpointing
    if getattr(stop, "wakes_checkpoint_thread", False):
        return

    @functools.wraps(stop)
    def stop_and_wake(state: ExecutionState) -> None:
        stop(state)
        state._checkpoint_queue.put(_Signal.REFRESH_WAKE)

    stop_and_wake.wakes_checkpoint_thread = True  # type: ignore[attr-defined]
    ExecutionState.stop_checkpointing = stop_and_wake  # type: ignore[method-assign]
