"""Properties of the verdict over generated units and generated curves."""

import math

from hypothesis import given
from hypothesis import strategies as st

from services.appraisal.adapters.rules_files import load_curve_rules
from services.appraisal.domain.distribution import (
    CurveRules,
    Limit,
    LimitKind,
    judge_distribution,
)
from shared.contracts.appraisal import OrganisationPredikat, Predikat

SHIPPED = load_curve_rules("any-agency", 2026)
ORGANISATION = OrganisationPredikat.ISTIMEWA

units = st.fixed_dictionaries({p: st.integers(0, 60) for p in Predikat})
rated_units = units.filter(lambda counts: sum(counts.values()) > 0)
predikat_sets = st.frozensets(st.sampled_from(Predikat), min_size=1)


@st.composite
def limits(draw: st.DrawFn, shares_only: bool = False) -> Limit:
    kind = draw(st.sampled_from(LimitKind))
    predikats = draw(predikat_sets)
    if shares_only or draw(st.booleans()):
        share = draw(st.fractions(min_value=0, max_value=1, max_denominator=100))
        return Limit(kind, predikats, share=share)
    return Limit(kind, predikats, count=draw(st.integers(0, 20)))


def curves(shares_only: bool = False) -> st.SearchStrategy[CurveRules]:
    return st.lists(limits(shares_only), max_size=5).map(
        lambda ls: CurveRules("generated.v1", {ORGANISATION: tuple(ls)})
    )


def test_of_the_shipped_curves_only_baik_counts_pegawai_the_others_are_shares() -> None:
    # the properties below that hold only for shares are checked on the shipped curves that
    # have shares only; this keeps that set honest if the data changes
    with_counts = [
        o for o, ls in SHIPPED.limits.items() if any(lim.count is not None for lim in ls)
    ]
    assert with_counts == [OrganisationPredikat.BAIK]


@given(st.sampled_from(OrganisationPredikat), rated_units)
def test_the_shares_of_a_rated_unit_sum_to_one(
    organisation: OrganisationPredikat, counts: dict[Predikat, int]
) -> None:
    verdict = judge_distribution(organisation, counts, SHIPPED)

    assert verdict.rated == sum(counts.values())
    assert math.isclose(sum(verdict.shares.values()), 1.0)


@given(curves(), units)
def test_a_unit_holds_exactly_when_it_breaches_nothing(
    rules: CurveRules, counts: dict[Predikat, int]
) -> None:
    verdict = judge_distribution(ORGANISATION, counts, rules)

    assert verdict.holds == (verdict.breaches == ())
    assert {b.rule for b in verdict.breaches} <= {lim.rule for lim in rules.limits[ORGANISATION]}


@given(curves(), rated_units)
def test_each_limit_is_breached_exactly_when_integer_arithmetic_says_so(
    rules: CurveRules, counts: dict[Predikat, int]
) -> None:
    rated = sum(counts.values())
    expected = []
    for lim in rules.limits[ORGANISATION]:
        counted = sum(counts[p] for p in lim.predikats)
        # counted/rated against the share p/q, cross-multiplied: no rounding anywhere
        if lim.share is not None:
            left, right = counted * lim.share.denominator, lim.share.numerator * rated
        else:
            assert lim.count is not None
            left, right = counted, lim.count
        kept = left >= right if lim.kind is LimitKind.AT_LEAST else left <= right
        if not kept:
            expected.append(lim.rule)

    verdict = judge_distribution(ORGANISATION, counts, rules)

    assert [b.rule for b in verdict.breaches] == expected


@given(curves(shares_only=True), rated_units, st.integers(2, 50))
def test_a_verdict_on_shares_alone_does_not_change_when_every_count_is_multiplied(
    rules: CurveRules, counts: dict[Predikat, int], k: int
) -> None:
    once = judge_distribution(ORGANISATION, counts, rules)
    scaled = judge_distribution(ORGANISATION, {p: n * k for p, n in counts.items()}, rules)

    assert scaled.holds == once.holds
    assert [(b.rule, b.limit) for b in scaled.breaches] == [
        (b.rule, b.limit) for b in once.breaches
    ]
    assert scaled.shares == once.shares


@given(
    st.sampled_from(
        [o for o, ls in SHIPPED.limits.items() if all(lim.share is not None for lim in ls)]
    ),
    rated_units,
    st.integers(2, 50),
)
def test_the_shipped_share_only_curves_judge_a_unit_and_its_multiple_alike(
    organisation: OrganisationPredikat, counts: dict[Predikat, int], k: int
) -> None:
    once = judge_distribution(organisation, counts, SHIPPED)
    scaled = judge_distribution(organisation, {p: n * k for p, n in counts.items()}, SHIPPED)

    assert [b.rule for b in scaled.breaches] == [b.rule for b in once.breaches]


@given(st.one_of(curves(), st.just(SHIPPED)), units, st.sampled_from(OrganisationPredikat))
def test_one_more_sangat_baik_never_removes_an_at_most_sangat_baik_breach(
    rules: CurveRules, counts: dict[Predikat, int], organisation: OrganisationPredikat
) -> None:
    def at_most_sangat_baik_breaches(unit: dict[Predikat, int]) -> set[str]:
        verdict = judge_distribution(organisation, unit, rules)
        capped = {
            lim.rule
            for lim in rules.limits.get(organisation, ())
            if lim.kind is LimitKind.AT_MOST and Predikat.SANGAT_BAIK in lim.predikats
        }
        return {b.rule for b in verdict.breaches} & capped

    before = at_most_sangat_baik_breaches(counts)
    after = at_most_sangat_baik_breaches(
        counts | {Predikat.SANGAT_BAIK: counts[Predikat.SANGAT_BAIK] + 1}
    )

    assert before <= after
