"""The console (`GET /console`) on the local runtime, in Debian's chromium driven by playwright.

A person types an API key, starts calculations, opens one and reads its timeline, stops and
deletes, with the keyboard alone where it matters. axe-core (npm, pinned in package.json) is
run in the page after each view: no serious or critical violations. Screenshots of both views
are written to $CONSOLE_SCREENSHOTS, or to a pytest temporary folder; the path is printed.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api_helpers import consumer, post, url
from conftest import HERE, start_runtime
from runtime_process import REPO_ROOT, LocalRuntime
from system_tools import chromium, missing_requirement
from test_contract_swagger import CHROMIUM_ARGS, TIMEOUT_MS

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
BRANCHES = ["Add", "Subtract", "Multiply", "Division"]
HOSTILE_HANDLER = ("--durable-handler", "hostile_durable:lambda_handler", "--durable-path", str(HERE))


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def browser(local_runtime) -> Iterator[Browser]:
    if local_runtime is None:  # checked before chromium: a deployed run skips these, never fails
        pytest.skip("drives the local runtime's console; CALCULATIONS_API_URL names a deployed stack")
    executable = chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        missing_requirement("axe-core is not installed (npm ci installs it from package.json)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("console-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_console(browser: Browser, api_url: str, api_key: str) -> Page:
    """The console, the key typed into its form. `page.problems` collects script errors and CSP refusals."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.problems = problems  # type: ignore[attr-defined]
    page.goto(f"{api_url}/console")
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Use key").click()
    expect(page.locator("#list-view")).to_be_visible()
    return page


def serious_violations(page: Page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


def row(page: Page, calculation_id: str):
    return page.locator("#calculation-rows tr", has=page.get_by_role("link", name=calculation_id, exact=True))


def start_in_form(page: Page, num1: str, num2: str, key: str) -> None:
    page.get_by_label("First number").fill(num1)
    page.get_by_label("Second number").fill(num2)
    page.get_by_label("Idempotency-Key (optional)").fill(key)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#start-status")).to_contain_text(f"Started {key}")


def ended(api: requests.Session, num1: float, num2: float) -> str:
    """A calculation started over HTTP and waited for; its id."""
    started = post(api, {"num1": num1, "num2": num2}, Prefer="wait=10")
    assert started.status_code == 200, started.text
    return started.json()["id"]


def test_typing_the_key_and_starting_two_calculations_lists_both(
    browser, api_url, local_runtime, axe_source, screenshots, report
):
    # Given the console with the first consumer's key typed in
    page = open_console(browser, api_url, local_runtime.api_key())
    ten_five, ten_zero = new_id("console-10-5"), new_id("console-10-0")

    # When 10/5 and 10/0 are started from the form
    start_in_form(page, "10", "5", ten_five)
    start_in_form(page, "10", "0", ten_zero)

    # Then both are listed, newest first, and end as the API says (the list refreshes by itself)
    expect(row(page, ten_five).locator(".badge")).to_have_text("SUCCEEDED")
    expect(row(page, ten_zero).locator(".badge")).to_have_text("FAILED")
    ids = page.locator("#calculation-rows a").all_inner_texts()
    assert ids.index(ten_zero) < ids.index(ten_five)
    # And the status filter asks the API for that status only
    page.get_by_label("Status").select_option("FAILED")
    expect(row(page, ten_five)).to_have_count(0)
    expect(row(page, ten_zero)).to_have_count(1)
    page.get_by_label("Status").select_option("")
    expect(row(page, ten_five)).to_have_count(1)
    # And the key is held by this tab's session storage only
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("sessionStorage.length") == 1
    violations = serious_violations(page, axe_source)
    path = screenshots / "console-list.png"
    page.screenshot(path=str(path), full_page=True)
    report("console list", f"console list view: {len(violations)} serious/critical axe violations; {path}")
    assert violations == []
    assert page.problems == []  # type: ignore[attr-defined]
    page.close()


def test_opening_a_failed_calculation_draws_four_lanes_with_division_failed(
    browser, api, api_url, local_runtime, axe_source, screenshots, report
):
    # Given 10/0 has ended: Division failed, the three others succeeded
    ten_zero = ended(api, 10, 0)
    page = open_console(browser, api_url, local_runtime.api_key())

    # When it is opened from the list with the keyboard alone
    link = page.get_by_role("link", name=ten_zero, exact=True)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-id")).to_have_text(ten_zero)
    expect(page.locator("#timeline svg")).to_be_visible()

    # Then the facts say FAILED, with Division's error
    expect(page.locator("#facts")).to_contain_text("FAILED")
    expect(page.locator("#facts")).to_contain_text("Division failed")
    expect(page.locator("#facts")).to_contain_text("division by zero")
    # And the parallel block has a lane per branch, Division's attempt failed and the others succeeded
    lanes = page.locator("#timeline text.lane-label.child").all_text_contents()
    assert lanes == BRANCHES
    assert page.locator("#timeline text.lane-label").first.text_content() == "Calculate (parallel)"
    for name in BRANCHES:
        bar = page.locator(f'#timeline rect.segment[aria-label^="{name} attempt 1:"]')
        expect(bar).to_have_count(1)
        outcome = "FAILED" if name == "Division" else "SUCCEEDED"
        expect(bar).to_have_class(re.compile(rf"\boutcome-{outcome}\b"))
        expect(bar).to_have_attribute("tabindex", "0")
        expect(bar).to_have_attribute("role", "button")
    # And Tab reaches the bars, whose details show in the panel
    page.locator("#timeline-title").click()
    for _ in range(40):
        page.keyboard.press("Tab")
        label = page.evaluate("document.activeElement.getAttribute('aria-label') || ''")
        if label.startswith("Division attempt 1"):
            break
    else:
        pytest.fail("Tab never reached Division's bar")
    expect(page.locator("#segment-details")).to_contain_text("ZeroDivisionError: division by zero")
    expect(page.locator("#segment-details")).to_contain_text("failed")
    # And the raw history is in a collapsed table that opens
    expect(page.locator("#history-rows")).to_be_hidden()
    page.locator("#raw summary").click()
    expect(page.locator("#history-rows tr")).to_have_count(
        len(api.get(url(api, f"/calculations/{ten_zero}/history")).json()["operations"])
    )
    violations = serious_violations(page, axe_source)
    path = screenshots / "console-calculation.png"
    page.screenshot(path=str(path), full_page=True)
    page.locator("#timeline svg").screenshot(path=str(screenshots / "console-timeline.png"))
    report(
        "console calculation",
        f"console calculation view: {len(violations)} serious/critical axe violations; {path}",
    )
    assert violations == []
    assert page.problems == []  # type: ignore[attr-defined]
    page.close()


def test_a_running_calculation_is_refused_delete_then_stopped_then_deleted(browser, slow_runtime):
    # Given the slow function's runtime, and a calculation started in its console (it waits 30 s)
    page = open_console(browser, slow_runtime.api_url, slow_runtime.api_key())
    page.on("dialog", lambda dialog: dialog.accept())
    held = new_id("console-slow")
    start_in_form(page, "10", "5", held)
    row(page, held).get_by_role("link").click()
    expect(page.locator("#facts")).to_contain_text("RUNNING")

    # When Delete is confirmed while it runs, the API's refusal is shown
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text("Conflict (409)")
    expect(page.locator("#action-status")).to_have_text("Not deleted.")

    # When Stop is confirmed, it is STOPPED, and Stop can no longer be pressed
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#facts .badge")).to_have_text("STOPPED")
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    # And its 30 s wait, cut short by the stop, is shown stopped, not still running
    page.locator("#timeline rect.wait-hit").first.click()
    expect(page.locator("#segment-details")).to_contain_text("a durable wait")
    expect(page.locator("#segment-details")).to_contain_text("stopped")
    expect(page.locator("#segment-details")).not_to_contain_text("running")

    # When Delete is confirmed now, it is gone from the list and from the API
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#list-view")).to_be_visible()
    expect(page.locator("#list-status")).to_contain_text(f"Deleted {held}.")
    expect(row(page, held)).to_have_count(0)
    slow = consumer(slow_runtime.api_url, slow_runtime.api_key())
    assert slow.get(url(slow, f"/calculations/{held}"), timeout=30).status_code == 404
    assert page.problems == []  # type: ignore[attr-defined]
    page.close()


@pytest.fixture(scope="module")
def hostile_runtime(local_runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    """A runtime of its own whose Division fails with an HTML message (hostile_durable.py)."""
    if local_runtime is None:
        pytest.skip("needs a local runtime hosting hostile_durable.py")
    runtime = start_runtime(tmp_path_factory, "hostile-runtime", *HOSTILE_HANDLER)
    yield runtime
    runtime.stop()


def test_an_error_message_written_in_html_is_shown_as_text(browser, hostile_runtime):
    # Given a calculation whose Division failed with markup for a message
    from hostile_text import HOSTILE_MESSAGE

    api = consumer(hostile_runtime.api_url, hostile_runtime.api_key())
    calculation_id = ended(api, 10, 0)

    # When it is opened in the console, its history unfolded and its failed bar selected
    page = open_console(browser, hostile_runtime.api_url, hostile_runtime.api_key())
    page.goto(f"{hostile_runtime.api_url}/console#/calculations/{calculation_id}")
    expect(page.locator("#facts")).to_contain_text("Division failed")
    page.locator("#raw summary").click()
    page.locator('#timeline rect.segment[aria-label^="Division attempt 1:"]').focus()

    # Then the message is there, character for character, as text, in the facts, panel and table
    for where in ("#facts", "#segment-details", "#history-rows"):
        expect(page.locator(where)).to_contain_text(HOSTILE_MESSAGE)
    # And none of it became markup: no image, no script, no element of its own, the title untouched
    assert page.locator("main img, main script, #injected").count() == 0
    assert page.title() == "Calculations console"
    assert page.problems == []  # type: ignore[attr-defined]
    page.close()


def test_another_consumers_key_sees_neither_calculation(browser, api, api_url, local_runtime):
    # Given the first consumer's two calculations
    mine = [ended(api, 10, 5), ended(api, 10, 0)]

    # When the second consumer's key is typed into the console
    page = open_console(browser, api_url, local_runtime.api_key("second"))
    expect(page.locator("#list-status")).to_contain_text("shown")

    # Then neither is listed, and opening one by its address is the API's 404
    listed = page.locator("#calculation-rows a").all_inner_texts()
    assert not set(mine) & set(listed)
    page.goto(f"{api_url}/console#/calculations/{mine[1]}")
    expect(page.get_by_role("alert")).to_contain_text("Not Found (404)")
    expect(page.locator("#facts")).to_be_empty()
    page.close()


def test_forgetting_the_key_clears_it_from_the_tab(browser, api_url, local_runtime):
    page = open_console(browser, api_url, local_runtime.api_key())

    page.get_by_role("button", name="Forget key").click()

    expect(page.locator("#welcome")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    assert json.loads(page.evaluate("JSON.stringify(Object.keys(localStorage))")) == []
    page.close()
