"""What the appraisal knows of the roster and the year for one evaluation, as its projection
of `kinerja.targets.v1` saw it: the facts a rating or an appeal is checked against."""

from dataclasses import dataclass
from datetime import date

from shared.contracts.appraisal import ANNUAL


@dataclass(frozen=True)
class PeriodFacts:
    """One pegawai's period (or the whole year): when it ends, who rates it (the pejabat
    penilai at its end), who decides an appeal (that rater's own pejabat penilai then), and
    the units the pegawai heads at its end."""

    nip: str
    year: int
    period: str
    starts: date
    ends: date
    rater: str | None
    atasan_rater: str | None
    headed_units: tuple[str, ...] = ()

    @property
    def is_annual(self) -> bool:
        return self.period == ANNUAL
