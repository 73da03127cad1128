"""The console's timeline of a large history, rendered in chromium.

A small server on 127.0.0.1 serves the console's page and assets as the API function does
(console_routes, with its headers) and one synthetic calculation whose history holds
`operations` operations: a parallel block of branches, one step each, some retried with waits
between attempts, some failed, then a Record step. Figures: the script's own time to draw the
timeline (the page's `console:timeline` measure) and the time from opening the calculation to
the next painted frame, both the median of a few openings.
"""

import json
import os
import shutil
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import console_routes

CALCULATION_ID = "bench-timeline"
STARTED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
OPEN_AND_PAINT = """(id) => new Promise((resolve) => {
  const opened = performance.now();
  performance.clearMeasures("console:timeline");
  new PerformanceObserver((entries, observer) => {
    const [entry] = entries.getEntriesByName("console:timeline");
    if (!entry) return;
    observer.disconnect();
    requestAnimationFrame(() => setTimeout(() => resolve({
      render_ms: entry.duration,
      painted_ms: performance.now() - opened,
      bars: document.querySelectorAll("#timeline .segment").length,
    })));
  }).observe({ type: "measure" });
  location.hash = `#/calculations/${id}`;
})"""


def at(milliseconds: float) -> str:
    return (STARTED + timedelta(milliseconds=milliseconds)).isoformat().replace("+00:00", "Z")


def synthetic_history(operations: int) -> dict[str, Any]:
    """`operations` operations: Calculate, (operations - 2) / 2 branches of one step, Record.

    Every fifth step fails twice, a second apart, before it succeeds; every seventh fails at once.
    """
    branches = (operations - 2) // 2
    documents: list[dict[str, Any]] = [
        {
            "id": "calc",
            "name": "Calculate",
            "type": "CONTEXT",
            "subType": "Parallel",
            "status": "SUCCEEDED",
            "startedAt": at(0),
            "endedAt": at(2400),
        },
    ]
    for index in range(branches):
        start = index * 0.5
        attempts = [{"number": 1, "status": "SUCCEEDED", "startedAt": at(start), "endedAt": at(start + 3)}]
        error = {"type": "ZeroDivisionError", "message": "division by zero"}
        if index % 5 == 0:
            attempts = [
                {
                    "number": 1,
                    "status": "FAILED",
                    "startedAt": at(start),
                    "endedAt": at(start + 3),
                    "error": {"type": "ConnectionError", "message": "reset"},
                    "retryDelaySeconds": 1,
                },
                {
                    "number": 2,
                    "status": "FAILED",
                    "startedAt": at(start + 1003),
                    "endedAt": at(start + 1006),
                    "error": {"type": "ConnectionError", "message": "reset"},
                    "retryDelaySeconds": 1,
                },
                {
                    "number": 3,
                    "status": "SUCCEEDED",
                    "startedAt": at(start + 2006),
                    "endedAt": at(start + 2009),
                },
            ]
        elif index % 7 == 0:
            attempts = [{**attempts[0], "status": "FAILED", "error": error}]
        status = attempts[-1]["status"]
        documents.append(
            {
                "id": f"branch-{index}",
                "name": f"Branch{index}",
                "type": "CONTEXT",
                "subType": "ParallelBranch",
                "parentId": "calc",
                "status": status,
                "startedAt": at(start),
                "endedAt": attempts[-1]["endedAt"],
            }
        )
        documents.append(
            {
                "id": f"step-{index}",
                "name": f"Branch{index}",
                "type": "STEP",
                "subType": "Step",
                "parentId": f"branch-{index}",
                "status": status,
                "attempts": len(attempts),
                "startedAt": at(start),
                "endedAt": attempts[-1]["endedAt"],
                "attemptDetails": attempts,
            }
        )
    documents.append(
        {
            "id": "record",
            "name": "Record",
            "type": "STEP",
            "subType": "Step",
            "status": "SUCCEEDED",
            "attempts": 1,
            "startedAt": at(2410),
            "endedAt": at(2420),
            "attemptDetails": [
                {"number": 1, "status": "SUCCEEDED", "startedAt": at(2410), "endedAt": at(2420)}
            ],
        }
    )
    return {"id": CALCULATION_ID, "ended": True, "operations": documents}


def calculation_document() -> dict[str, Any]:
    return {
        "id": CALCULATION_ID,
        "status": "FAILED",
        "input": {"num1": 10, "num2": 0},
        "startedAt": at(0),
        "endedAt": at(2430),
        "links": {},
    }


@contextmanager
def console_server(operations: int) -> Iterator[str]:
    """The console and the synthetic calculation on 127.0.0.1; its base URL."""
    documents = {
        "/calculations": {"items": []},
        f"/calculations/{CALCULATION_ID}": calculation_document(),
        f"/calculations/{CALCULATION_ID}/history": synthetic_history(operations),
    }
    files = {
        "/console": ("text/html; charset=utf-8", console_routes.page_html()),
        **{
            f"/console/{name}": (kind, console_routes.asset_text(name))
            for name, kind in console_routes.ASSETS.items()
        },
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path in files:
                content_type, text = files[path]
            elif path in documents:
                content_type, text = "application/json", json.dumps(documents[path])
            else:
                self.send_error(404)
                return
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in console_routes.SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            """Quiet: the bench prints its own table."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def missing_browser() -> str | None:
    """Why the console's row cannot run here, if it cannot."""
    if not os.access(CHROMIUM, os.X_OK):
        return "chromium is not installed (Debian package chromium; `make bench` and `make test` install it)"
    return None


def timeline_render(operations: int = 1000, openings: int = 5) -> dict[str, Any]:
    """Median times to draw and paint the timeline of an `operations`-operation history."""
    from playwright.sync_api import sync_playwright

    if message := missing_browser():
        raise RuntimeError(message)
    with console_server(operations) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/console")
        page.get_by_label("API key").fill("bench")
        page.get_by_role("button", name="Use key").click()
        page.wait_for_selector("#list-view:not([hidden])")
        samples = []
        for _ in range(openings):
            samples.append(page.evaluate(OPEN_AND_PAINT, CALCULATION_ID))
            page.evaluate("location.hash = '#/'")
            page.wait_for_selector("#list-view:not([hidden])")
        browser.close()
    return {
        "operations": operations,
        "bars": samples[0]["bars"],
        "openings": openings,
        "render_ms": round(statistics.median(sample["render_ms"] for sample in samples), 1),
        "painted_ms": round(statistics.median(sample["painted_ms"] for sample in samples), 1),
    }
