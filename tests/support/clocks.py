"""A clock the test sets by hand (`clock.now = ...`), for code that takes a clock."""

from datetime import UTC, datetime

MONDAY_OF_Q2 = datetime(2026, 4, 6, 2, 0, tzinfo=UTC)  # 09:00 WIB, the quarter just begun


class Clock:
    def __init__(self, now: datetime = MONDAY_OF_Q2) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
