from datetime import date

import pytest

from services.targets.domain.years import PerformanceYear
from shared.contracts.targets import Frequency, PerformanceYearOpened
from shared.domain.errors import RuleViolation, WrongState


def test_a_quarterly_year_has_four_periods_covering_every_day() -> None:
    year = PerformanceYear("2028")

    year.open(Frequency.QUARTERLY)

    [opened] = year.pending
    assert isinstance(opened, PerformanceYearOpened)
    assert [(p.code, p.starts, p.ends) for p in opened.periods] == [
        ("Q1", date(2028, 1, 1), date(2028, 3, 31)),
        ("Q2", date(2028, 4, 1), date(2028, 6, 30)),
        ("Q3", date(2028, 7, 1), date(2028, 9, 30)),
        ("Q4", date(2028, 10, 1), date(2028, 12, 31)),
    ]


def test_a_monthly_year_has_twelve_periods_with_february_of_a_leap_year() -> None:
    year = PerformanceYear("2028")

    year.open(Frequency.MONTHLY)

    periods = year.periods
    assert [p.code for p in periods] == [f"M{m:02d}" for m in range(1, 13)]
    assert periods[1].ends == date(2028, 2, 29)


def test_a_year_is_opened_once() -> None:
    year = PerformanceYear("2026")
    year.open(Frequency.QUARTERLY)

    with pytest.raises(WrongState):
        year.open(Frequency.MONTHLY)


def test_a_year_before_the_regulation_is_refused() -> None:
    with pytest.raises(RuleViolation, match="year"):
        PerformanceYear("2019").open(Frequency.QUARTERLY)
