"""A role held from a date on: a pegawai's pejabat penilai, a unit's head. Reporting lines
change during a year, so every check asks who held the role on a given day."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class DatedHistory:
    """Each `(effective_from, holder)`; the holder on a day is the latest begun by then."""

    changes: tuple[tuple[date, str], ...] = ()

    def on(self, day: date) -> str | None:
        begun = [(since, holder) for since, holder in self.changes if since <= day]
        return max(begun)[1] if begun else None

    def holders(self) -> set[str]:
        """Everyone who held the role at any time."""
        return {holder for _, holder in self.changes}
