"""The curve watch records each change in whether a unit's curve holds, never the same
judgement twice, and nothing before anyone is rated."""

from services.appraisal.adapters.rules_files import load_curve_rules
from services.appraisal.domain.curve_watch import CurveWatch
from services.appraisal.domain.distribution import judge_distribution
from shared.contracts.appraisal import DistributionJudged, OrganisationPredikat, Predikat

RULES = load_curve_rules("default", 2026)
BAIK = OrganisationPredikat.BAIK


def test_a_breach_is_recorded_once_and_holding_again_is_recorded_too() -> None:
    watch = CurveWatch("BIRO:2026:Q1")
    breached = judge_distribution(BAIK, {Predikat.BAIK: 4}, RULES)
    holding = judge_distribution(BAIK, {Predikat.BAIK: 2, Predikat.KURANG: 1}, RULES)

    watch.judge(breached)
    watch.judge(breached)
    watch.judge(holding)
    watch.judge(holding)

    judged = watch.pending
    assert all(isinstance(e, DistributionJudged) for e in judged)
    assert [(e.holds, len(e.breaches)) for e in judged if isinstance(e, DistributionJudged)] == [
        (False, 2),
        (True, 0),
    ]


def test_nothing_is_said_of_a_unit_nobody_in_which_is_rated() -> None:
    watch = CurveWatch("BIRO:2026:Q1")

    watch.judge(judge_distribution(BAIK, {}, RULES))

    assert watch.pending == []


def test_a_different_breach_is_a_new_judgement() -> None:
    watch = CurveWatch("BIRO:2026:Q1")
    watch.judge(judge_distribution(BAIK, {Predikat.BAIK: 4}, RULES))
    watch.pending.clear()

    watch.judge(judge_distribution(BAIK, {Predikat.BAIK: 2, Predikat.SANGAT_BAIK: 2}, RULES))

    [changed] = watch.pending
    assert isinstance(changed, DistributionJudged)
    assert [b.rule for b in changed.breaches] == ["at_least 1 of BUTUH_PERBAIKAN|KURANG"]
