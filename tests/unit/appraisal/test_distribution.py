"""The distribution curve of DOMAIN.md, as shipped in rules/curves/default.toml: for each
organisation predicate, a unit that keeps to it and one that breaches it, with the edges."""

from collections.abc import Callable
from fractions import Fraction

import pytest

from services.appraisal.adapters.rules_files import load_curve_rules
from services.appraisal.domain.distribution import (
    Breach,
    CurveRules,
    Limit,
    LimitKind,
    judge_distribution,
)
from shared.contracts.appraisal import OrganisationPredikat, Predikat

SB, B, BP, K, SK = (
    Predikat.SANGAT_BAIK,
    Predikat.BAIK,
    Predikat.BUTUH_PERBAIKAN,
    Predikat.KURANG,
    Predikat.SANGAT_KURANG,
)
CURVE = load_curve_rules("any-agency", 2026)


def judge(organisation: OrganisationPredikat, **counts: int) -> list[Breach]:
    verdict = judge_distribution(organisation, {Predikat(p): n for p, n in counts.items()}, CURVE)
    assert verdict.holds == (not verdict.breaches)
    return list(verdict.breaches)


def test_exactly_seventy_percent_sangat_baik_holds_for_istimewa() -> None:
    assert judge(OrganisationPredikat.ISTIMEWA, SANGAT_BAIK=7, BAIK=3) == []


def test_eighty_percent_sangat_baik_breaches_istimewa_with_the_numbers() -> None:
    assert judge(OrganisationPredikat.ISTIMEWA, SANGAT_BAIK=8, BAIK=2) == [
        Breach(rule="at_most 70% SANGAT_BAIK", limit="70%", actual="80% (8 of 10)")
    ]


def test_exactly_seventy_percent_baik_with_one_butuh_perbaikan_holds_for_baik() -> None:
    assert judge(OrganisationPredikat.BAIK, BAIK=7, SANGAT_BAIK=2, BUTUH_PERBAIKAN=1) == []


def test_one_kurang_is_the_one_below_expectation_a_baik_unit_needs() -> None:
    assert judge(OrganisationPredikat.BAIK, BAIK=5, SANGAT_BAIK=4, KURANG=1) == []


def test_a_baik_unit_with_too_many_baik_and_nobody_below_breaches_both_limits() -> None:
    assert judge(OrganisationPredikat.BAIK, BAIK=8, SANGAT_BAIK=2) == [
        Breach(rule="at_most 70% BAIK", limit="70%", actual="80% (8 of 10)"),
        Breach(rule="at_least 1 of BUTUH_PERBAIKAN|KURANG", limit="1", actual="0% (0 of 10)"),
    ]


def test_exactly_sixty_percent_butuh_perbaikan_and_ten_percent_sangat_baik_hold() -> None:
    assert (
        judge(OrganisationPredikat.BUTUH_PERBAIKAN, BUTUH_PERBAIKAN=6, SANGAT_BAIK=1, BAIK=3) == []
    )


def test_a_butuh_perbaikan_unit_below_sixty_percent_and_over_ten_sangat_baik_breaches() -> None:
    assert judge(
        OrganisationPredikat.BUTUH_PERBAIKAN, BUTUH_PERBAIKAN=5, SANGAT_BAIK=2, BAIK=3
    ) == [
        Breach(rule="at_least 60% BUTUH_PERBAIKAN", limit="60%", actual="50% (5 of 10)"),
        Breach(rule="at_most 10% SANGAT_BAIK", limit="10%", actual="20% (2 of 10)"),
    ]


def test_a_kurang_unit_at_its_limits_holds() -> None:
    counts = {"KURANG": 6, "BUTUH_PERBAIKAN": 1, "SANGAT_BAIK": 1, "BAIK": 2}
    assert judge(OrganisationPredikat.KURANG, **counts) == []


def test_a_kurang_unit_breaches_each_of_its_three_limits() -> None:
    assert judge(OrganisationPredikat.KURANG, KURANG=5, SANGAT_BAIK=2, SANGAT_KURANG=3) == [
        Breach(rule="at_least 60% KURANG", limit="60%", actual="50% (5 of 10)"),
        Breach(rule="at_least 10% BUTUH_PERBAIKAN", limit="10%", actual="0% (0 of 10)"),
        Breach(rule="at_most 10% SANGAT_BAIK", limit="10%", actual="20% (2 of 10)"),
    ]


def test_a_sangat_kurang_unit_counts_kurang_and_butuh_perbaikan_together() -> None:
    counts = {"SANGAT_KURANG": 6, "KURANG": 1, "BAIK": 3}
    assert judge(OrganisationPredikat.SANGAT_KURANG, **counts) == []


def test_a_sangat_kurang_unit_allows_no_sangat_baik_at_all() -> None:
    counts = {"SANGAT_KURANG": 8, "BUTUH_PERBAIKAN": 1, "SANGAT_BAIK": 1}
    assert judge(OrganisationPredikat.SANGAT_KURANG, **counts) == [
        Breach(rule="at_most 0% SANGAT_BAIK", limit="0%", actual="10% (1 of 10)")
    ]


def test_a_sangat_kurang_unit_breaches_each_of_its_three_limits() -> None:
    counts = {"SANGAT_KURANG": 5, "SANGAT_BAIK": 1, "BAIK": 4}
    assert [b.rule for b in judge(OrganisationPredikat.SANGAT_KURANG, **counts)] == [
        "at_least 60% SANGAT_KURANG",
        "at_least 10% BUTUH_PERBAIKAN|KURANG",
        "at_most 0% SANGAT_BAIK",
    ]


def test_a_baik_unit_of_one_baik_pegawai_is_judged_like_any_other() -> None:
    assert judge(OrganisationPredikat.BAIK, BAIK=1) == [
        Breach(rule="at_most 70% BAIK", limit="70%", actual="100% (1 of 1)"),
        Breach(rule="at_least 1 of BUTUH_PERBAIKAN|KURANG", limit="1", actual="0% (0 of 1)"),
    ]


def test_an_istimewa_unit_of_one_sangat_baik_pegawai_breaches_the_seventy_percent() -> None:
    assert [b.rule for b in judge(OrganisationPredikat.ISTIMEWA, SANGAT_BAIK=1)] == [
        "at_most 70% SANGAT_BAIK"
    ]


def test_a_unit_with_nobody_rated_yet_holds_with_nothing_to_judge() -> None:
    verdict = judge_distribution(OrganisationPredikat.SANGAT_KURANG, {}, CURVE)

    assert verdict.holds
    assert verdict.breaches == ()
    assert verdict.rated == 0
    assert verdict.counts == dict.fromkeys(Predikat, 0)
    assert verdict.shares == dict.fromkeys(Predikat, 0.0)


def test_a_verdict_names_every_predikat_its_rules_version_and_its_shares() -> None:
    verdict = judge_distribution(OrganisationPredikat.ISTIMEWA, {SB: 1, B: 3}, CURVE)

    assert verdict.organisation_predikat is OrganisationPredikat.ISTIMEWA
    assert verdict.rules_version == "kurva-permenpanrb-6-2022.v1"
    assert verdict.rated == 4
    assert verdict.counts == {SB: 1, B: 3, BP: 0, K: 0, SK: 0}
    assert verdict.shares == {SB: 0.25, B: 0.75, BP: 0.0, K: 0.0, SK: 0.0}


def curve(*limits: Limit) -> CurveRules:
    return CurveRules("test.v1", {OrganisationPredikat.ISTIMEWA: limits})


def test_a_share_that_is_not_a_round_percent_is_shown_to_two_places() -> None:
    half = curve(Limit(LimitKind.AT_MOST, frozenset({SB}), share=Fraction(1, 2)))

    verdict = judge_distribution(OrganisationPredikat.ISTIMEWA, {SB: 2, B: 1}, half)

    assert verdict.breaches == (
        Breach(rule="at_most 50% SANGAT_BAIK", limit="50%", actual="66.67% (2 of 3)"),
    )


def test_an_organisation_predikat_without_limits_always_holds() -> None:
    verdict = judge_distribution(OrganisationPredikat.KURANG, {SB: 10}, curve())

    assert verdict.holds


@pytest.mark.parametrize(
    ("counts", "says"),
    [({SB: -1, B: 3}, "not negative"), ({"BAGUS": 1}, "not a predikat: BAGUS")],
    ids=["a negative count", "a name that is no predikat"],
)
def test_counts_that_cannot_be_a_unit_are_refused(counts: dict[str, int], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        judge_distribution(OrganisationPredikat.BAIK, counts, CURVE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limit", "rule"),
    [
        (
            Limit(LimitKind.AT_MOST, frozenset({SB}), share=Fraction(7, 10)),
            "at_most 70% SANGAT_BAIK",
        ),
        (
            Limit(LimitKind.AT_LEAST, frozenset({K, BP}), count=1),
            "at_least 1 of BUTUH_PERBAIKAN|KURANG",
        ),
        (
            Limit(LimitKind.AT_LEAST, frozenset({K, BP}), share=Fraction(1, 8)),
            "at_least 12.5% BUTUH_PERBAIKAN|KURANG",
        ),
        (Limit(LimitKind.AT_MOST, frozenset({SB}), share=Fraction(0)), "at_most 0% SANGAT_BAIK"),
    ],
)
def test_a_limit_has_a_stable_name_with_its_predikats_in_the_regulations_order(
    limit: Limit, rule: str
) -> None:
    assert limit.rule == rule


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: Limit(LimitKind.AT_MOST, frozenset({SB}), share=Fraction(11, 10)), "110%"),
        (lambda: Limit(LimitKind.AT_MOST, frozenset({SB}), share=Fraction(-1, 10)), "between"),
        (lambda: Limit(LimitKind.AT_LEAST, frozenset({SB}), count=-1), "not negative"),
        (lambda: Limit(LimitKind.AT_LEAST, frozenset(), count=1), "at least one predikat"),
        (lambda: Limit(LimitKind.AT_LEAST, frozenset({SB})), "either a share or a count"),
        (
            lambda: Limit(LimitKind.AT_LEAST, frozenset({SB}), share=Fraction(1, 2), count=1),
            "either a share or a count",
        ),
    ],
    ids=["share over 100%", "negative share", "negative count", "no predikat", "no bound", "both"],
)
def test_a_limit_that_cannot_be_met_sensibly_is_refused(
    make: Callable[[], Limit], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        make()
