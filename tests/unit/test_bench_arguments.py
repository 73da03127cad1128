"""`python -m bench` refuses at once what it could only fail on after minutes of other sections."""

import sys

import pytest


@pytest.fixture
def bench_main(monkeypatch):
    # Importing the bench sets its log level for the processes it measures; keep ours.
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    from bench import __main__ as bench_main
    from bench import console_render

    # A machine without chromium
    monkeypatch.setattr(console_render, "CHROMIUM", "/nonexistent/chromium")
    return bench_main


@pytest.mark.parametrize("only", [[], ["--only", "console"]])
def test_a_run_that_draws_the_console_without_chromium_is_refused_before_it_starts(
    bench_main, monkeypatch, capsys, only
):
    # When the bench reads arguments that include the console's row
    monkeypatch.setattr(sys, "argv", ["python -m bench", *only])
    with pytest.raises(SystemExit) as stopped:
        bench_main.arguments()

    # Then it stops at once, saying what is missing and how to leave the console out
    assert stopped.value.code == 2
    assert "chromium is not installed" in capsys.readouterr().err


def test_a_run_without_the_console_needs_no_chromium(bench_main, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["python -m bench", "--only", "soak"])

    assert bench_main.arguments().only == ["soak"]
