"""Swagger UI on the local runtime, in a real headless browser: Debian's chromium driven by playwright."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml
from playwright.sync_api import Browser, Page, Route, sync_playwright

from runtime_process import REPO_ROOT
from system_tools import chromium

# No sandbox (CI runs as root), and nothing that reaches for the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000
LOCAL_SERVER = "http://127.0.0.1:3000"


@pytest.fixture(scope="module")
def browser(local_runtime) -> Iterator[Browser]:
    if local_runtime is None:  # checked before chromium: a deployed run skips these, never fails
        pytest.skip("needs the local runtime's Swagger UI; CALCULATIONS_API_URL names a deployed stack")
    executable = chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def swagger(browser: Browser, api_url: str) -> Iterator[Page]:
    """The Swagger UI page, loaded, with the page's own errors collected in `page.errors`: its
    exceptions, and what its Content-Security-Policy refused."""
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"{api_url}/swagger")
    page.wait_for_selector(".opblock")
    yield page
    page.close()


def documented_operations() -> set[tuple[str, str]]:
    spec = yaml.safe_load((REPO_ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    # The events a webhook endpoint receives, which Swagger UI lists as operations by their names
    return operations | {(method.upper(), name) for name, item in spec["webhooks"].items() for method in item}


def test_swagger_ui_loads_and_lists_every_operation(swagger: Page):
    listed = {
        (
            block.locator(".opblock-summary-method").inner_text().strip(),
            block.locator(".opblock-summary-path").inner_text().replace("\u200b", "").strip(),
        )
        for block in swagger.locator(".opblock").all()
    }

    assert swagger.title() == "Swagger UI"
    assert swagger.locator(".info .title").inner_text().startswith("Durable Calculations API")
    assert listed == documented_operations()
    # The 15 routes and the 5 webhook events
    assert len(listed) == 20
    assert swagger.errors == []  # type: ignore[attr-defined]


def authorize(swagger: Page, api_key: str) -> None:
    """Swagger UI's Authorize dialog: the key is then sent as x-api-key with every try."""
    swagger.locator(".auth-wrapper button.authorize").click()
    swagger.locator(".auth-container input").first.fill(api_key)
    swagger.locator(".auth-btn-wrapper button.authorize").click()
    swagger.locator(".auth-btn-wrapper button.btn-done").click()


def test_try_it_out_starts_a_calculation_and_shows_the_202(swagger: Page, api_url: str, api):
    # Given the page's first server, `make run`'s address, is where this runtime listens (its page
    # reloaded with that address replaced by this runtime's), the consumer's API key entered
    assert swagger.locator(".servers select").input_value() == LOCAL_SERVER

    def this_runtime(route: Route) -> None:
        page = route.fetch()
        route.fulfill(response=page, body=page.text().replace(LOCAL_SERVER, api_url))

    swagger.route(f"{api_url}/swagger", this_runtime)
    swagger.reload()
    swagger.wait_for_selector(".opblock")
    assert swagger.locator(".servers select").input_value() == api_url
    authorize(swagger, api.headers["x-api-key"])

    # When the start operation is tried out with its example body
    start = swagger.locator("#operations-calculations-startCalculation")
    start.locator(".opblock-summary").click()
    start.locator(".try-out__btn").click()
    body = json.loads(start.locator("textarea.body-param__text").input_value())

    start.locator("button.execute").click()
    live = start.locator(".live-responses-table tbody tr.response")
    live.wait_for()

    # Then the page shows the 202 and the started calculation
    assert body == {"num1": 10, "num2": 5}
    assert live.locator(".response-col_status").inner_text().strip() == "202"
    shown = json.loads(live.locator(".response-col_description pre.microlight").first.inner_text())
    assert shown["status"] in ("RUNNING", "SUCCEEDED")
    assert shown["input"] == {"num1": 10, "num2": 5}
    headers = live.locator(".response-col_description").inner_text().lower()
    assert f"location: /calculations/{shown['id']}" in headers
    assert swagger.errors == []  # type: ignore[attr-defined]
