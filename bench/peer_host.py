"""The peer: the testing package's `dex-local-runner` server, hosting the durable function behind a
minimal stand-in for Lambda, in one process (`python -m bench.peer_host`).

`dex-local-runner start-server` serves the control plane and the checkpoint API only: it runs each
handler invocation by sending Invoke to a Lambda endpoint. This process starts that server as the
CLI does (its `WebRunner`, the in-memory store, the CLI's defaults) and beside it a Lambda endpoint
that answers Invoke of the durable function and nothing else: an invocation the runner sends
(marked `X-Dex-Handler-Invoke`) runs the handler here, once, and answers its output; a client's
Invoke starts an execution in the runner, as Lambda starts a durable execution. The handler
checkpoints over HTTP to the runner (`AWS_ENDPOINT_URL_LAMBDA`), as it would in Lambda. No table
(the `Record` step does not run), no status events, no SQLite.
"""

import json
import logging
import os
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aws_durable_execution_sdk_python_testing.invoker import (
    INVOCATION_MARKER_HEADER,
    create_test_lambda_context,
)
from aws_durable_execution_sdk_python_testing.model import StartDurableExecutionInput
from aws_durable_execution_sdk_python_testing.runner import WebRunner, WebRunnerConfig
from aws_durable_execution_sdk_python_testing.web.server import WebServiceConfig

from bench.sdk_internals import web_runner_executor, web_runner_port

FUNCTION_NAME = "math-durable"
HOST = "127.0.0.1"
READY_PREFIX = "PEER READY"
# As `dex-local-runner start-server` by default: executions may run 300 s, kept a day.
EXECUTION_TIMEOUT_SECONDS = 300
RETENTION_DAYS = 1
ACCOUNT_ID = "123456789012"


def lambda_stand_in(runner: WebRunner) -> type[BaseHTTPRequestHandler]:
    import durable_math  # imported once AWS_ENDPOINT_URL_LAMBDA names the runner

    executor = web_runner_executor(runner)

    class StandIn(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the runner's boto3 client expects

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get(INVOCATION_MARKER_HEADER):
                context = create_test_lambda_context(function_name=FUNCTION_NAME)
                output = durable_math.lambda_handler(json.loads(body), context)
                self._answer(200, json.dumps(output).encode(), {})
                return
            started = executor.start_execution(
                StartDurableExecutionInput(
                    account_id=ACCOUNT_ID,
                    function_name=FUNCTION_NAME,
                    function_qualifier="$LATEST",
                    execution_name=str(uuid.uuid4()),
                    execution_timeout_seconds=EXECUTION_TIMEOUT_SECONDS,
                    execution_retention_period_days=RETENTION_DAYS,
                    input=body.decode() or "{}",
                    lambda_endpoint=None,
                )
            )
            self._answer(202, b"", {"X-Amz-Durable-Execution-Arn": started.execution_arn or ""})

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the runtime it is compared with does not log each request either."""

    return StandIn


def main() -> None:
    stand_in = ThreadingHTTPServer((HOST, 0), BaseHTTPRequestHandler)
    lambda_url = f"http://{HOST}:{stand_in.server_address[1]}"
    config = WebRunnerConfig(
        web_service=WebServiceConfig(host=HOST, port=0, log_level=logging.WARNING),
        lambda_endpoint=lambda_url,
    )
    with WebRunner(config) as runner:
        runner_url = f"http://{HOST}:{web_runner_port(runner)}"
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = runner_url
        stand_in.RequestHandlerClass = lambda_stand_in(runner)
        threading.Thread(target=stand_in.serve_forever, daemon=True).start()
        print(f"{READY_PREFIX} {runner_url} {lambda_url}", flush=True)
        runner.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
