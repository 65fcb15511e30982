"""The distribution curve (kurva distribusi): how an organisation predicate bounds the share
of its employees in each predikat, and whether a unit's predicates keep to it.

The curve is guidance for the leader who settles the unit's predicates, so a breach is
reported with its numbers, never used to refuse a rating."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from shared.contracts.appraisal import OrganisationPredikat, Predikat

_PREDIKATS = frozenset(Predikat)


class LimitKind(StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"


@dataclass(frozen=True)
class Limit:
    """One limit of a curve on the employees in `predikats`, counted together: a share of
    those rated (an exact fraction) or a count of pegawai, never both. "None allowed" is
    `at_most` a share of 0."""

    kind: LimitKind
    predikats: frozenset[Predikat]
    share: Fraction | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LimitKind(self.kind))
        object.__setattr__(self, "predikats", frozenset(Predikat(p) for p in self.predikats))
        if not self.predikats:
            raise ValueError("a limit counts at least one predikat")
        if (self.share is None) == (self.count is None):
            raise ValueError("a limit is either a share or a count")
        if self.share is not None and not 0 <= self.share <= 1:
            raise ValueError(f"a share is between 0% and 100%, not {percent(self.share)}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"a count is not negative, not {self.count}")

    @property
    def rule(self) -> str:
        """A stable name for people and logs, e.g. `at_most 70% SANGAT_BAIK` or
        `at_least 1 of BUTUH_PERBAIKAN|KURANG`."""
        names = "|".join(p.value for p in Predikat if p in self.predikats)
        if self.share is not None:
            return f"{self.kind.value} {percent(self.share)} {names}"
        return f"{self.kind.value} {self.count} of {names}"

    @property
    def bound(self) -> str:
        return percent(self.share) if self.share is not None else str(self.count)

    def holds_for(self, counted: int, rated: int) -> bool:
        """Whether `counted` of `rated` pegawai keep to this limit (exactly at it holds)."""
        actual = Fraction(counted, rated) if self.share is not None else Fraction(counted)
        bound = self.share if self.share is not None else Fraction(self.count or 0)
        return actual >= bound if self.kind is LimitKind.AT_LEAST else actual <= bound


@dataclass(frozen=True)
class CurveRules:
    """The limits of each organisation predicate; one without limits always holds."""

    version: str
    limits: Mapping[OrganisationPredikat, tuple[Limit, ...]]

    def __post_init__(self) -> None:
        if not self.version.strip():
            raise ValueError("a curve needs a version")
        copy = {OrganisationPredikat(o): tuple(limits) for o, limits in self.limits.items()}
        object.__setattr__(self, "limits", copy)


@dataclass(frozen=True)
class Breach:
    """A limit the unit does not keep: `limit` like "70%" (a share) or "1" (a count),
    `actual` like "80% (8 of 10)"."""

    rule: str
    limit: str
    actual: str


@dataclass(frozen=True)
class DistributionVerdict:
    """How a unit's predicates stand against its curve: `counts` and `shares` name every
    predikat (zeros included), `holds` is true exactly when there is no breach."""

    organisation_predikat: OrganisationPredikat
    rules_version: str
    rated: int
    counts: dict[Predikat, int]
    shares: dict[Predikat, float]
    holds: bool
    breaches: tuple[Breach, ...]


def judge_distribution(
    organisation: OrganisationPredikat, counts: Mapping[Predikat, int], rules: CurveRules
) -> DistributionVerdict:
    """Whether the predicates of a unit keep to the curve of its organisation predicate,
    naming each breached limit with its numbers.

    A unit with nobody rated yet holds (there is nothing to judge yet: every share is 0.0 and
    no limit is breached); from the first rating on, every limit applies, to a unit of one as
    to any other."""
    unknown = [str(p) for p in counts if p not in _PREDIKATS]
    if unknown:
        raise ValueError(f"not a predikat: {', '.join(unknown)}")
    tally = {p: counts.get(p, 0) for p in Predikat}
    if any(n < 0 for n in tally.values()):
        raise ValueError(f"a count of pegawai is not negative: {dict(counts)}")
    rated = sum(tally.values())
    breaches = (
        ()
        if rated == 0
        else tuple(
            _breach(limit, tally, rated)
            for limit in rules.limits.get(organisation, ())
            if not limit.holds_for(_counted(limit, tally), rated)
        )
    )
    return DistributionVerdict(
        organisation_predikat=organisation,
        rules_version=rules.version,
        rated=rated,
        counts=tally,
        shares={p: float(Fraction(n, rated)) if rated else 0.0 for p, n in tally.items()},
        holds=not breaches,
        breaches=breaches,
    )


def _counted(limit: Limit, tally: Mapping[Predikat, int]) -> int:
    return sum(tally[p] for p in limit.predikats)


def _breach(limit: Limit, tally: Mapping[Predikat, int], rated: int) -> Breach:
    counted = _counted(limit, tally)
    actual = f"{percent(Fraction(counted, rated))} ({counted} of {rated})"
    return Breach(rule=limit.rule, limit=limit.bound, actual=actual)


def percent(share: Fraction) -> str:
    """A share as people write it: exact when its decimal ends ("12.5%"), else to two
    places ("33.33%")."""
    value = share * 100
    denominator = value.denominator
    for factor in (2, 5):
        while denominator % factor == 0:
            denominator //= factor
    if denominator == 1:
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    else:
        text = f"{float(value):.2f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"
