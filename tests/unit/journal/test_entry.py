"""Entries, corrections and feedback, as given events / when a command / then events or an
error."""

from datetime import date

import pytest
from pydantic import ValidationError

from services.journal.domain.action_plan import ActionPlan, plan_id
from services.journal.domain.entry import Entry, Realisation
from services.journal.domain.view import IndicatorView, SkpView
from shared.contracts.journal import (
    ActionPlanSet,
    EntryCorrected,
    EntryRecorded,
    Evidence,
    FeedbackGiven,
)
from shared.contracts.targets import Approach
from shared.domain.dated import DatedHistory
from shared.domain.errors import NotAllowed, RuleViolation, WrongState

ANDI, KEPALA, BUDI = "199001012015031001", "197001011995031001", "198003032005011002"
SKP = SkpView(
    skp_id=f"{ANDI}-2026",
    nip=ANDI,
    year=2026,
    approach=Approach.KUANTITATIF,
    approved=True,
    indicators={
        "iki-1": IndicatorView("iki-1", "rhk-1", quantitative=True),
        "iki-2": IndicatorView("iki-2", "rhk-1", quantitative=False),
    },
    periods={
        "Q1": (date(2026, 1, 1), date(2026, 3, 31)),
        "Q2": (date(2026, 4, 1), date(2026, 6, 30)),
    },
)
PROOF = Evidence(uri="s3://bkd/laporan-maret.pdf", sha256="ab" * 32, media_type="application/pdf")
DONE = Realisation(date(2026, 3, 28), "Laporan Maret selesai", 1, None, (PROOF,))
UNAPPROVED = SkpView(**{**vars(SKP), "approved": False})


def on(day: date, value: float | None = None, text: str | None = None) -> Realisation:
    return Realisation(day, "Rapat koordinasi", value, text, ())


RATERS = DatedHistory(((date(2026, 1, 1), KEPALA), (date(2026, 4, 1), BUDI)))


def recorded(**changes: object) -> EntryRecorded:
    fields: dict[str, object] = {
        "entry_id": "e-1",
        "nip": ANDI,
        "skp_id": SKP.skp_id,
        "rhk_id": "rhk-1",
        "indicator_id": "iki-1",
        "date": date(2026, 3, 28),
        "description": "Laporan Maret selesai",
        "realised_value": 1,
        "realised_text": None,
        "evidence": [PROOF],
    }
    return EntryRecorded.model_validate({**fields, **changes})


def test_a_pegawai_records_progress_on_an_indicator_of_their_approved_skp() -> None:
    entry = Entry("e-1")

    entry.record(ANDI, SKP, "rhk-1", "iki-1", DONE)

    assert entry.pending == [recorded()]


@pytest.mark.parametrize(
    ("actor", "skp", "indicator", "what", "error", "says"),
    [
        (ANDI, UNAPPROVED, "iki-1", DONE, WrongState, "not approved"),
        (BUDI, SKP, "iki-1", DONE, NotAllowed, "only pegawai"),
        (ANDI, SKP, "iki-9", DONE, RuleViolation, "indicator_id"),
        (ANDI, SKP, "iki-1", on(date(2027, 1, 2), value=1), RuleViolation, "date"),
        (ANDI, SKP, "iki-1", on(date(2026, 3, 1)), RuleViolation, "realised_value"),
        (ANDI, SKP, "iki-2", on(date(2026, 3, 1), text=" "), RuleViolation, "realised_text"),
    ],
    ids=[
        "SKP not approved",
        "someone else's SKP",
        "indicator not in it",
        "date outside the year",
        "no value for a quantitative indicator",
        "no narrative for a qualitative one",
    ],
)
def test_an_entry_is_refused_with_a_clear_error(
    actor: str, skp: SkpView, indicator: str, what: Realisation, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        Entry("e-1").record(actor, skp, "rhk-1", indicator, what)


def test_evidence_names_its_file_by_a_sha256_of_64_hex_characters() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        Evidence(uri="s3://bkd/x.pdf", sha256="ab" * 31)
    with pytest.raises(ValidationError, match="sha256"):
        Evidence(uri="s3://bkd/x.pdf", sha256="AB" * 32)


def test_a_correction_is_a_new_event_and_the_original_stays() -> None:
    entry = Entry.replay("e-1", [recorded()])
    fixed = Realisation(date(2026, 3, 30), "Laporan Maret dan lampirannya", 2, None, (PROOF,))

    entry.correct(ANDI, SKP, fixed)

    assert [type(e) for e in entry.pending] == [EntryCorrected]
    assert entry.current == fixed
    assert entry.version == 2  # the recorded event is the first of the stream, untouched


def test_only_the_pegawai_corrects_their_entry() -> None:
    with pytest.raises(NotAllowed):
        Entry.replay("e-1", [recorded()]).correct(KEPALA, SKP, DONE)


def test_feedback_comes_from_the_pejabat_penilai_on_the_entrys_date() -> None:
    entry = Entry.replay("e-1", [recorded()])

    entry.give_feedback(KEPALA, RATERS, "Bagus, lampirkan rekap.")

    assert entry.pending == [
        FeedbackGiven(entry_id="e-1", given_by=KEPALA, text="Bagus, lampirkan rekap.")
    ]
    for wrong in (BUDI, ANDI, None):  # Budi rates Andi only from April; Andi; nobody
        with pytest.raises(NotAllowed):
            Entry.replay("e-1", [recorded()]).give_feedback(wrong, RATERS, "Oke")


def test_an_action_plan_is_set_per_indicator_and_period_and_setting_it_again_is_a_no_op() -> None:
    plan = ActionPlan(plan_id(SKP.skp_id, "iki-1", "Q2"))

    plan.set(ANDI, SKP, "iki-1", "Q2", 3, None)
    plan.set(ANDI, SKP, "iki-1", "Q2", 3, None)

    assert plan.pending == [
        ActionPlanSet(
            plan_id=plan.identity,
            nip=ANDI,
            skp_id=SKP.skp_id,
            indicator_id="iki-1",
            period="Q2",
            planned_value=3,
            planned_text=None,
        )
    ]
    with pytest.raises(RuleViolation, match="period"):
        ActionPlan("p").set(ANDI, SKP, "iki-1", "M05", 3, None)
    with pytest.raises(RuleViolation, match="planned_text"):
        ActionPlan("p").set(ANDI, SKP, "iki-2", "Q2", None, "")
