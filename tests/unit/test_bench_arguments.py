"""`python -m bench` refuses at once what it could only fail on after minutes of other sections."""

import sys

import pytest

from bench import __main__ as bench_main
from bench import console_render


@pytest.mark.parametrize(
    ("only", "refused"), [([], True), (["--only", "console"], True), (["--only", "soak"], False)]
)
def test_a_run_that_draws_the_console_without_chromium_is_refused_before_it_starts(
    monkeypatch, capsys, only, refused
):
    # Given a machine without chromium
    monkeypatch.setattr(console_render, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(sys, "argv", ["python -m bench", *only])

    # When the bench reads its arguments
    if not refused:
        assert bench_main.arguments().only == ["soak"]
        return
    with pytest.raises(SystemExit) as stopped:
        bench_main.arguments()

    # Then it stops at once, saying what is missing and how to leave the console out
    assert stopped.value.code == 2
    assert "chromium is not installed" in capsys.readouterr().err
