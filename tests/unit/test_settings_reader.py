"""Reading settings from the environment: required variables, limits, defaults, no silent fallback."""

from dataclasses import dataclass

import pytest

from settings_reader import SettingsError, calculations_table, read_settings, retention_period_days, setting


@dataclass(frozen=True)
class Example:
    table: str = calculations_table()
    days: int = retention_period_days()
    wait: int = setting("WAIT", 20, minimum=0, maximum=25)

    def __post_init__(self) -> None:
        if self.wait == 13:
            raise ValueError("WAIT must not be 13")


@dataclass(frozen=True)
class Optional:
    table: str | None = calculations_table(default=None)


def test_defaults_fill_what_the_environment_leaves_out():
    settings = read_settings(Example, {"CALCULATIONS_TABLE_NAME": "calculations"})

    assert settings == Example(table="calculations", days=14, wait=20)


def test_values_are_read_and_typed():
    settings = read_settings(
        Example, {"CALCULATIONS_TABLE_NAME": "calculations", "RETENTION_PERIOD_DAYS": "90"}
    )

    assert settings.days == 90


def test_a_missing_required_variable_is_named():
    with pytest.raises(SettingsError, match=r"^CALCULATIONS_TABLE_NAME is required$"):
        read_settings(Example, {})


@pytest.mark.parametrize("days", ["0", "91", "-1", "1.5", "ten", "", " 7"])
def test_a_number_outside_its_range_or_not_whole_is_refused(days):
    environment = {"CALCULATIONS_TABLE_NAME": "calculations", "RETENTION_PERIOD_DAYS": days}

    with pytest.raises(SettingsError) as refused:
        read_settings(Example, environment)

    assert str(refused.value) == f"RETENTION_PERIOD_DAYS must be a whole number from 1 to 90, got {days!r}"


@pytest.mark.parametrize("days", ["1", "90"])
def test_the_ends_of_a_range_are_allowed(days):
    environment = {"CALCULATIONS_TABLE_NAME": "calculations", "RETENTION_PERIOD_DAYS": days}

    assert read_settings(Example, environment).days == int(days)


def test_a_text_that_breaks_its_pattern_is_refused_and_every_problem_is_named_at_once():
    environment = {"CALCULATIONS_TABLE_NAME": "ab", "WAIT": "26"}

    with pytest.raises(SettingsError) as refused:
        read_settings(Example, environment)

    assert str(refused.value) == (
        "CALCULATIONS_TABLE_NAME must be 3-255 of A-Z a-z 0-9 _ . -, got 'ab'; "
        "WAIT must be a whole number from 0 to 25, got '26'"
    )


def test_an_empty_optional_variable_is_unset_but_an_empty_required_one_is_invalid():
    assert read_settings(Optional, {"CALCULATIONS_TABLE_NAME": ""}).table is None
    assert read_settings(Optional, {}).table is None

    with pytest.raises(SettingsError, match="CALCULATIONS_TABLE_NAME must be"):
        read_settings(Example, {"CALCULATIONS_TABLE_NAME": ""})


def test_a_rule_across_settings_is_a_settings_error():
    with pytest.raises(SettingsError, match=r"^WAIT must not be 13$"):
        read_settings(Example, {"CALCULATIONS_TABLE_NAME": "calculations", "WAIT": "13"})
