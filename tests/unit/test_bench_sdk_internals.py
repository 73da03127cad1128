"""Guards bench/sdk_internals.py: the SDKs' private members it reads still exist and still work."""

import pytest
from aws_durable_execution_sdk_python import state
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner


@pytest.fixture
def sdk_internals(monkeypatch):
    # Importing the bench sets its log level for the processes it measures; keep ours.
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    from bench import sdk_internals

    return sdk_internals


def test_the_stop_poll_is_set_for_the_block_and_restored_after(sdk_internals):
    with sdk_internals.stop_poll_seconds(0.005):
        assert state._STOP_SIGNAL_POLL_SECONDS == 0.005

    assert state._STOP_SIGNAL_POLL_SECONDS == 0.1


def test_the_runner_has_a_checkpoint_service(sdk_internals):
    with DurableFunctionTestRunner(handler=lambda event, context: None) as runner:
        assert callable(sdk_internals.checkpoint_service(runner).checkpoint)


def test_the_web_runner_exposes_its_executor_and_bound_port(sdk_internals):
    # Given dex-local-runner's server started on 127.0.0.1, any free port (bound, never connected to)
    import logging

    from aws_durable_execution_sdk_python_testing.runner import WebRunner, WebRunnerConfig
    from aws_durable_execution_sdk_python_testing.web.server import WebServiceConfig

    config = WebRunnerConfig(
        web_service=WebServiceConfig(host="127.0.0.1", port=0, log_level=logging.WARNING)
    )
    with WebRunner(config) as runner:
        # Then the bench reaches the executor it starts executions with, and the port it bound
        assert callable(sdk_internals.web_runner_executor(runner).start_execution)
        assert sdk_internals.web_runner_port(runner) > 0
