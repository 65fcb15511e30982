"""Evaluations, as given events / when a command / then events or an error: who rates, when,
the unit head's derived Rating Hasil Kerja, amendments, and the one final appeal."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.appraisal.adapters.rules_files import (
    load_curve_rules,
    load_tukin_rule,
    load_unit_head_mapping,
)
from services.appraisal.domain.evaluation import Evaluation
from services.appraisal.domain.facts import PeriodFacts
from services.appraisal.domain.results import ResultRules
from shared.contracts.appraisal import (
    AppealDecided,
    AppealFiled,
    AppealOutcome,
    HasilKerjaSource,
    OrganisationPredikat,
    Predikat,
    PredikatCause,
    PredikatDetermined,
    Rating,
    RatingGiven,
)
from shared.domain.errors import NotAllowed, RuleViolation, WrongState

ANDI, KEPALA, SEKDA, BUDI = (
    "199001012015031001",
    "197001011995031001",
    "196801011990031001",
    "198003032005011002",
)
RULES = ResultRules(
    curve_version=load_curve_rules("default", 2026).version,
    tukin=load_tukin_rule("default"),
    unit_head=load_unit_head_mapping(),
)
Q1 = PeriodFacts(ANDI, 2026, "Q1", date(2026, 1, 1), date(2026, 3, 31), KEPALA, SEKDA)
AFTER_Q1 = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
ATAS, SESUAI, BAWAH = (
    Rating.DI_ATAS_EKSPEKTASI,
    Rating.SESUAI_EKSPEKTASI,
    Rating.DI_BAWAH_EKSPEKTASI,
)


def rated(hasil: Rating = ATAS, perilaku: Rating = ATAS, at: datetime = AFTER_Q1) -> Evaluation:
    evaluation = Evaluation(Evaluation.id_of(ANDI, 2026, "Q1"))
    evaluation.rate(KEPALA, Q1, (hasil, perilaku), None, at, None, RULES)
    return Evaluation.replay(evaluation.identity, evaluation.pending)


def appealed() -> Evaluation:
    evaluation = rated()
    evaluation.file_appeal(ANDI, Q1, "Laporan triwulan tidak dihitung", AFTER_Q1)
    evaluation.pending.clear()  # as if loaded from its stream
    return evaluation


def test_the_pejabat_penilai_at_the_period_end_rates_and_the_predikat_follows() -> None:
    evaluation = Evaluation(Evaluation.id_of(ANDI, 2026, "Q1"))

    evaluation.rate(KEPALA, Q1, (ATAS, SESUAI), " Baik ", AFTER_Q1, None, RULES)

    given, determined = evaluation.pending
    assert isinstance(given, RatingGiven)
    assert (given.predikat, given.rated_by, given.note, given.amends) == (
        Predikat.BAIK, KEPALA, "Baik", False,
    )  # fmt: skip
    assert given.appeal_until == date(2026, 4, 20)
    assert isinstance(determined, PredikatDetermined)
    assert (determined.cause, determined.credit_point_percentage, determined.tukin_factor) == (
        PredikatCause.RATING, 100, RULES.tukin.factor(Predikat.BAIK),
    )  # fmt: skip
    assert determined.rules_version == RULES.curve_version


def test_rating_by_someone_other_than_the_pejabat_penilai_is_forbidden() -> None:
    with pytest.raises(NotAllowed):
        Evaluation(Evaluation.id_of(ANDI, 2026, "Q1")).rate(
            BUDI, Q1, (ATAS, ATAS), None, AFTER_Q1, None, RULES
        )


def test_a_supervisor_replaced_before_the_period_ended_cannot_rate_it() -> None:
    # KEPALA rated Andi until 15 March; BUDI from then on, so BUDI rates Q1 (facts say so)
    replaced = PeriodFacts(ANDI, 2026, "Q1", date(2026, 1, 1), date(2026, 3, 31), BUDI, SEKDA)
    evaluation = Evaluation(Evaluation.id_of(ANDI, 2026, "Q1"))

    with pytest.raises(NotAllowed, match=BUDI):
        evaluation.rate(KEPALA, replaced, (ATAS, ATAS), None, AFTER_Q1, None, RULES)
    evaluation.rate(BUDI, replaced, (ATAS, ATAS), None, AFTER_Q1, None, RULES)
    assert evaluation.result is not None
    assert evaluation.result.by == BUDI


@pytest.mark.parametrize("day", [datetime(2026, 3, 31, 16, 0, tzinfo=UTC)], ids=["last day"])
def test_a_rating_before_the_period_has_ended_is_refused(day: datetime) -> None:
    with pytest.raises(WrongState, match="ends on 2026-03-31"):
        Evaluation(Evaluation.id_of(ANDI, 2026, "Q1")).rate(
            KEPALA, Q1, (ATAS, ATAS), None, day, None, RULES
        )


def test_a_later_rating_amends_and_keeps_the_first_in_the_history() -> None:
    evaluation = rated(ATAS, ATAS)

    evaluation.rate(KEPALA, Q1, (BAWAH, SESUAI), None, AFTER_Q1 + timedelta(days=2), None, RULES)

    amended, determined = evaluation.pending
    assert isinstance(amended, RatingGiven)
    assert isinstance(determined, PredikatDetermined)
    assert (amended.amends, amended.predikat) == (True, Predikat.BUTUH_PERBAIKAN)
    assert determined.cause is PredikatCause.AMENDMENT
    assert evaluation.version == 4  # the first rating and its output stay in the stream


def test_a_unit_heads_rating_hasil_kerja_follows_the_unit_predicate() -> None:
    evaluation = Evaluation(Evaluation.id_of(ANDI, 2026, "Q1"))

    evaluation.rate(KEPALA, Q1, (None, ATAS), None, AFTER_Q1, OrganisationPredikat.ISTIMEWA, RULES)

    given = evaluation.pending[0]
    assert isinstance(given, RatingGiven)
    assert (given.hasil_kerja, given.hasil_kerja_source, given.predikat) == (
        ATAS, HasilKerjaSource.ORGANISATION, Predikat.SANGAT_BAIK,
    )  # fmt: skip


def test_a_unit_heads_rating_against_the_unit_predicate_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        Evaluation(Evaluation.id_of(ANDI, 2026, "Q1")).rate(
            KEPALA, Q1, (ATAS, ATAS), None, AFTER_Q1, OrganisationPredikat.KURANG, RULES
        )
    assert refused.value.field == "hasil_kerja"


def test_a_rating_without_hasil_kerja_of_someone_heading_no_rated_unit_is_refused() -> None:
    with pytest.raises(RuleViolation, match="hasil_kerja"):
        Evaluation(Evaluation.id_of(ANDI, 2026, "Q1")).rate(
            KEPALA, Q1, (None, ATAS), None, AFTER_Q1, None, RULES
        )


@pytest.mark.parametrize("days", [0, 14])
def test_the_pegawai_appeals_within_fourteen_days_to_the_atasan(days: int) -> None:
    evaluation = rated()

    evaluation.file_appeal(ANDI, Q1, "Alasan", AFTER_Q1 + timedelta(days=days))

    assert evaluation.pending == [
        AppealFiled(
            evaluation_id=evaluation.identity, nip=ANDI, year=2026, period="Q1", reason="Alasan",
            filed_at=AFTER_Q1 + timedelta(days=days), decider_nip=SEKDA,
        )
    ]  # fmt: skip


def test_an_appeal_on_day_fifteen_is_refused() -> None:
    with pytest.raises(WrongState, match="closed on 2026-04-20"):
        rated().file_appeal(ANDI, Q1, "Terlambat", AFTER_Q1 + timedelta(days=15))


def test_only_the_pegawai_appeals_and_only_once() -> None:
    with pytest.raises(NotAllowed):
        rated().file_appeal(KEPALA, Q1, "Bukan saya", AFTER_Q1)
    with pytest.raises(WrongState, match="no second"):
        appealed().file_appeal(ANDI, Q1, "Lagi", AFTER_Q1)
    with pytest.raises(WrongState, match="not rated"):
        Evaluation(Evaluation.id_of(ANDI, 2026, "Q1")).file_appeal(ANDI, Q1, "Belum", AFTER_Q1)


def test_only_the_atasan_pejabat_penilai_decides_an_appeal() -> None:
    for someone in (KEPALA, ANDI, BUDI):
        with pytest.raises(NotAllowed):
            appealed().decide_appeal(
                someone, AppealOutcome.UPHELD, (None, None), "Tetap", AFTER_Q1, RULES
            )


def test_a_changed_appeal_gives_new_ratings_and_a_new_predikat_which_is_final() -> None:
    evaluation = appealed()

    evaluation.decide_appeal(
        SEKDA, AppealOutcome.CHANGED, (SESUAI, SESUAI), "Diubah", AFTER_Q1, RULES
    )

    decided, determined = evaluation.pending
    assert isinstance(decided, AppealDecided)
    assert isinstance(determined, PredikatDetermined)
    assert (decided.predikat, determined.cause) == (Predikat.BAIK, PredikatCause.APPEAL)
    with pytest.raises(WrongState, match="final"):
        evaluation.decide_appeal(SEKDA, AppealOutcome.UPHELD, (None, None), "Lagi", AFTER_Q1, RULES)
    with pytest.raises(WrongState, match="final"):
        evaluation.rate(KEPALA, Q1, (ATAS, ATAS), None, AFTER_Q1, None, RULES)


def test_an_upheld_appeal_keeps_the_ratings_and_determines_nothing_new() -> None:
    evaluation = appealed()

    evaluation.decide_appeal(SEKDA, AppealOutcome.UPHELD, (None, None), "Tetap", AFTER_Q1, RULES)

    (decided,) = evaluation.pending
    assert isinstance(decided, AppealDecided)
    assert decided.predikat is Predikat.SANGAT_BAIK


def test_a_changed_appeal_without_both_ratings_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        appealed().decide_appeal(
            SEKDA, AppealOutcome.CHANGED, (SESUAI, None), "Diubah", AFTER_Q1, RULES
        )
    assert refused.value.field == "perilaku_kerja"
