"""GET /console and its assets: served by the API function from its package, under a strict CSP."""

import hashlib
import re
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "functions" / "api" / "console"
STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def version_of(name: str) -> str:
    return hashlib.sha256((CONSOLE / name).read_bytes()).hexdigest()[:16]


def test_console_page_is_html_under_a_strict_content_security_policy(call, stubs):
    # Given no API key at all: the page is open, like /swagger (the stubs refuse any AWS call)
    page = call("GET", "/console", api_key_id=None)

    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"] == STRICT_CSP
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "stage_in_path", "target"),
    [("/console/", True, "/Prod/console"), ("/console//", False, "/console")],
)
def test_the_console_page_with_a_final_slash_redirects_to_the_page(call, stubs, path, stage_in_path, target):
    # Given the page's address with a final slash, where its relative asset URLs would not resolve
    answer = call("GET", path, api_key_id=None, stage_in_path=stage_in_path)

    # Then the browser is sent to the page itself, under the stage the client used
    assert answer.status == 308
    assert answer.headers["Location"] == target
    assert answer.text == ""


def test_console_page_names_its_assets_by_content_hash_and_holds_no_inline_code(call, stubs):
    page = call("GET", "/console", api_key_id=None).text

    # Relative URLs: they resolve beside /console, also under the deployed stage's /Prod
    assert f'<script src="console/console.js?v={version_of("console.js")}" defer></script>' in page
    assert f'<link rel="stylesheet" href="console/console.css?v={version_of("console.css")}">' in page
    # The CSP refuses inline script and style, so the page must carry none
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "<style" not in page
    assert " style=" not in page
    assert re.search(r"\son[a-z]+=", page) is None


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/console/console.js", "text/javascript; charset=utf-8"),
        ("/console/console.css", "text/css; charset=utf-8"),
    ],
)
def test_console_assets_are_served_with_their_type_and_cached_for_good(call, stubs, path, content_type):
    # Given the URL the page names: the asset's current version
    asset = call("GET", f"{path}?v={version_of(path.rsplit('/', 1)[1])}", api_key_id=None)

    assert asset.status == 200
    assert asset.headers["Content-Type"] == content_type
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert asset.headers["X-Content-Type-Options"] == "nosniff"
    assert asset.text == (CONSOLE / path.rsplit("/", 1)[1]).read_text(encoding="utf-8")


@pytest.mark.parametrize("query", ["", "?v=0123456789abcdef", "?v="])
def test_an_asset_asked_for_under_another_version_is_served_but_revalidated(call, stubs, query):
    # Given a URL that is not the current version's (an old page's, or made up)
    asset = call("GET", f"/console/console.js{query}", api_key_id=None)

    # Then the content is served, but no cache keeps it under that name for good
    assert asset.status == 200
    assert asset.headers["Cache-Control"] == "no-cache"


def test_a_file_beside_the_console_that_is_not_an_asset_is_not_served(call, stubs):
    response = call("GET", "/console/index.html", api_key_id=None)

    assert response.status == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_console_script_puts_api_data_on_the_page_as_text_only():
    # Given the script: every value from the API goes through textContent or setAttribute
    script = (CONSOLE / "console.js").read_text(encoding="utf-8")

    # Then nothing on the page is ever parsed from a string as HTML or run as code
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink
