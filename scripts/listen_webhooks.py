"""`make listen`: a webhook receiver on this machine that prints each event it verifies.

    make listen ARGS="--secret whsec_... --port 4000"

Register `http://127.0.0.1:4000/` (POST /webhooks) with the local runtime, and pass the secret
the answer holds. Each delivery is verified with the `standardwebhooks` library (Standard
Webhooks v1: signature and a timestamp within 5 minutes) and printed as one line of JSON with
its `webhook-id`; a delivery that does not verify is refused with 400 and said so. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY_BYTES = 1024 * 1024


def handler_for(webhook: Webhook) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413)
                return
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                event = webhook.verify(body, headers)
            except WebhookVerificationError as error:
                print(f"refused {headers.get('webhook-id', '-')}: {error}", flush=True)
                self._answer(400)
                return
            print(json.dumps({"webhook-id": headers["webhook-id"], **event}), flush=True)
            self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--secret", default=os.environ.get("WEBHOOK_SECRET"), help="the endpoint's whsec_ secret"
    )
    parser.add_argument("--port", type=int, default=4000, help="port on 127.0.0.1 (default 4000)")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret (or WEBHOOK_SECRET) is required: the secret POST /webhooks answered")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(Webhook(args.secret)))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
