"""Performance years: an admin opens one with its frequency, which fixes its periods."""

import calendar
from datetime import date

from shared.contracts.targets import Frequency, PerformanceYearOpened, Period
from shared.domain.aggregate import Aggregate
from shared.domain.errors import RuleViolation, WrongState
from shared.events.model import DomainEvent

EARLIEST_YEAR = 2022  # PermenPANRB 6/2022 applies from its year on


def periods_of(year: int, frequency: Frequency) -> list[Period]:
    """Q1..Q4 or M01..M12, each from its first to its last day."""
    if frequency is Frequency.QUARTERLY:
        spans = [(f"Q{q}", 3 * q - 2, 3 * q) for q in range(1, 5)]
    else:
        spans = [(f"M{m:02d}", m, m) for m in range(1, 13)]
    return [
        Period(
            code=code,
            starts=date(year, first, 1),
            ends=date(year, last, calendar.monthrange(year, last)[1]),
        )
        for code, first, last in spans
    ]


class PerformanceYear(Aggregate):
    stream_prefix = "year"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.frequency = Frequency.QUARTERLY
        self.periods: list[Period] = []

    @property
    def year(self) -> int:
        return int(self.identity)

    def open(self, frequency: Frequency) -> None:
        if self.exists:
            raise WrongState(f"performance year {self.year} is already open")
        if not EARLIEST_YEAR <= self.year <= 2100:
            raise RuleViolation("year", f"a performance year lies between {EARLIEST_YEAR} and 2100")
        self._record(
            PerformanceYearOpened(
                year=self.year, frequency=frequency, periods=periods_of(self.year, frequency)
            )
        )

    def contains(self, day: date) -> bool:
        return day.year == self.year

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case PerformanceYearOpened():
                self.frequency, self.periods = event.frequency, list(event.periods)
            case _:
                super()._apply(event)
