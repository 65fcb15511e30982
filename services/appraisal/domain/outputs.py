"""What a predikat feeds outside appraisal: the percentage of a functional post's credit
points (angka kredit), and the factor of the performance allowance (tukin)."""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shared.contracts.appraisal import Predikat

# The regulation's table: AK = percentage x the coefficient of the post.
_CREDIT_POINT_PERCENTAGE: Mapping[Predikat, int] = MappingProxyType(
    {
        Predikat.SANGAT_BAIK: 150,
        Predikat.BAIK: 100,
        Predikat.BUTUH_PERBAIKAN: 75,
        Predikat.KURANG: 50,
        Predikat.SANGAT_KURANG: 25,
    }
)


def credit_point_percentage(p: Predikat) -> int:
    """The percentage of the post's credit-point coefficient a predikat earns."""
    return _CREDIT_POINT_PERCENTAGE[Predikat(p)]


@dataclass(frozen=True)
class TukinRule:
    """An agency's rule for the share of tukin paid by predikat (1.0 is paid in full). Every
    predikat must have a factor between 0 and 1: the rule is a cut, never a bonus."""

    version: str
    factors: Mapping[Predikat, float]

    def __post_init__(self) -> None:
        if not self.version.strip():
            raise ValueError("a tukin rule needs a version")
        missing = [p.value for p in Predikat if p not in self.factors]
        if missing:
            raise ValueError(f"no tukin factor for predikat {', '.join(missing)}")
        outside = [f"{p}={f}" for p, f in self.factors.items() if not 0.0 <= f <= 1.0]
        if outside:
            raise ValueError(f"a tukin factor is between 0 and 1, not {', '.join(outside)}")
        copy = {Predikat(p): float(f) for p, f in self.factors.items()}
        object.__setattr__(self, "factors", copy)

    def factor(self, p: Predikat) -> float:
        return self.factors[p]
