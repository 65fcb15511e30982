"""Predikat Kinerja Pegawai from the two ratings, and a unit head's Rating Hasil Kerja from
their unit's organisation predicate (PermenPANRB 6/2022)."""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shared.contracts.appraisal import OrganisationPredikat, Predikat, Rating

_ATAS, _SESUAI, _BAWAH = (
    Rating.DI_ATAS_EKSPEKTASI,
    Rating.SESUAI_EKSPEKTASI,
    Rating.DI_BAWAH_EKSPEKTASI,
)

# (hasil kerja, perilaku kerja) -> predikat. Results above or as expected with behaviour below
# is the regulation's "Kurang/Misconduct": good work does not excuse bad conduct.
_MATRIX: Mapping[tuple[Rating, Rating], Predikat] = MappingProxyType(
    {
        (_ATAS, _ATAS): Predikat.SANGAT_BAIK,
        (_ATAS, _SESUAI): Predikat.BAIK,
        (_ATAS, _BAWAH): Predikat.KURANG,
        (_SESUAI, _ATAS): Predikat.BAIK,
        (_SESUAI, _SESUAI): Predikat.BAIK,
        (_SESUAI, _BAWAH): Predikat.KURANG,
        (_BAWAH, _ATAS): Predikat.BUTUH_PERBAIKAN,
        (_BAWAH, _SESUAI): Predikat.BUTUH_PERBAIKAN,
        (_BAWAH, _BAWAH): Predikat.SANGAT_KURANG,
    }
)


def predikat_of(hasil_kerja: Rating, perilaku_kerja: Rating) -> Predikat:
    """The predicate of the regulation's 3x3 matrix: rows Hasil Kerja, columns Perilaku."""
    return _MATRIX[Rating(hasil_kerja), Rating(perilaku_kerja)]


@dataclass(frozen=True)
class UnitHeadMapping:
    """Which Rating Hasil Kerja a unit head gets from the organisation predicate of their
    unit. Every organisation predicate must be mapped, so a lookup never fails."""

    version: str
    ratings: Mapping[OrganisationPredikat, Rating]

    def __post_init__(self) -> None:
        if not self.version.strip():
            raise ValueError("the unit-head mapping needs a version")
        missing = [o.value for o in OrganisationPredikat if o not in self.ratings]
        if missing:
            raise ValueError(f"no rating for organisation predikat {', '.join(missing)}")
        # our own copy: the rules in force must not change when the caller edits its dict
        object.__setattr__(self, "ratings", dict(self.ratings))

    def hasil_kerja_for(self, organisation: OrganisationPredikat) -> Rating:
        return self.ratings[organisation]
