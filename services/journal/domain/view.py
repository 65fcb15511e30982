"""What the journal knows of the targets service, as its projection saw it: the facts a
command is checked against. Built from events only; never asked of the targets service."""

from dataclasses import dataclass, field
from datetime import date

from shared.contracts.targets import Approach


@dataclass(frozen=True)
class IndicatorView:
    indicator_id: str
    rhk_id: str
    quantitative: bool


@dataclass(frozen=True)
class SkpView:
    """An SKP as the journal last saw it; entries need it approved."""

    skp_id: str
    nip: str
    year: int
    approach: Approach
    approved: bool
    indicators: dict[str, IndicatorView] = field(default_factory=dict)
    periods: dict[str, tuple[date, date]] = field(default_factory=dict)
