"""`kinerja history`'s fold: given one pegawai's events from every store, the record as it
stood at a moment, before and after each change."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.cli.common import CommandError
from shared.cli.history import fold, moment
from shared.contracts.appraisal import (
    AppealDecided,
    AppealFiled,
    AppealOutcome,
    HasilKerjaSource,
    Predikat,
    PredikatCause,
    PredikatDetermined,
    Rating,
    RatingGiven,
)
from shared.contracts.journal import EntryCorrected, EntryRecorded, Evidence, FeedbackGiven
from shared.contracts.targets import (
    Approach,
    Aspect,
    EmployeeRegistered,
    Indicator,
    JobType,
    RhkAdded,
    RhkChanged,
    RhkKind,
    SkpApproved,
    SkpDrafted,
    SkpRevisionOpened,
    SkpSubmitted,
    SupervisorAssigned,
)
from tests.unit.cli.chains import ANDI, KEPALA, Record, at

SEKDA = "196801011990031001"
SKP, EVALUATION = f"{ANDI}-2026", f"{ANDI}:2026:Q1"
WIB = ZoneInfo("Asia/Jakarta")
PROOF = Evidence(uri="s3://bkd/l.pdf", sha256="ab" * 32)


def rating(perilaku: Rating, predikat: Predikat, when: datetime, amends: bool) -> RatingGiven:
    return RatingGiven(
        evaluation_id=EVALUATION, nip=ANDI, year=2026, period="Q1",
        hasil_kerja=Rating.SESUAI_EKSPEKTASI, hasil_kerja_source=HasilKerjaSource.PEJABAT_PENILAI,
        perilaku_kerja=perilaku, predikat=predikat, rated_by=KEPALA, rated_at=when,
        appeal_until=when.date() + timedelta(days=14), note=None, amends=amends,
    )  # fmt: skip


def determined(predikat: Predikat, cause: PredikatCause, perilaku: Rating) -> PredikatDetermined:
    return PredikatDetermined(
        evaluation_id=EVALUATION, nip=ANDI, year=2026, period="Q1", predikat=predikat,
        hasil_kerja=Rating.SESUAI_EKSPEKTASI, perilaku_kerja=perilaku, cause=cause,
        rules_version="permenpanrb-6-2022", credit_point_percentage=100, tukin_factor=1.0,
        tukin_rule_version="default-2026",
    )  # fmt: skip


@pytest.fixture(scope="module")
def record() -> Record:
    """Andi's year: registered, an SKP approved then revised, an entry corrected and answered,
    Q1 rated, amended, appealed and changed on appeal."""
    r = Record()
    indicator = Indicator(indicator_id="iki-1", aspect=Aspect.KUANTITAS, text="Laporan",
                          target_value=4, target_unit="laporan")  # fmt: skip
    r.add(
        "targets",
        f"employee-{ANDI}",
        at(1, 2),
        EmployeeRegistered(
            nip=ANDI, name="Andi", position="Analis", unit_code="BIRO", job_type=JobType.FUNGSIONAL
        ),
        SupervisorAssigned(nip=ANDI, supervisor_nip=KEPALA, effective_from=date(2026, 1, 1)),
    )
    r.add(
        "targets",
        f"skp-{SKP}",
        at(1, 5),
        SkpDrafted(skp_id=SKP, nip=ANDI, year=2026, approach=Approach.KUANTITATIF),
        RhkAdded(
            skp_id=SKP,
            rhk_id="rhk-1",
            text="Laporan",
            kind=RhkKind.UTAMA,
            parent_rhk_id=None,
            perspective=None,
            indicators=[indicator],
        ),
        SkpSubmitted(skp_id=SKP, version=1),
    )
    r.add("targets", f"skp-{SKP}", at(1, 6), SkpApproved(skp_id=SKP, version=1, approved_by=KEPALA))
    r.add(
        "journal",
        "entry-e1",
        at(2, 10),
        EntryRecorded(
            entry_id="e1",
            nip=ANDI,
            skp_id=SKP,
            rhk_id="rhk-1",
            indicator_id="iki-1",
            date=date(2026, 2, 10),
            description="Laporan",
            realised_value=5,
            realised_text=None,
            evidence=[PROOF],
        ),
    )
    r.add(
        "journal",
        "entry-e1",
        at(3, 1),
        EntryCorrected(
            entry_id="e1",
            date=date(2026, 2, 10),
            description="Laporan",
            realised_value=2,
            realised_text=None,
            evidence=[PROOF],
        ),
    )
    r.add("journal", "entry-e1", at(3, 2), FeedbackGiven(entry_id="e1", given_by=KEPALA, text="Ok"))
    baik, sangat_baik = Predikat.BAIK, Predikat.SANGAT_BAIK
    r.add(
        "appraisal",
        f"evaluation-{EVALUATION}",
        at(4, 6),
        rating(Rating.SESUAI_EKSPEKTASI, baik, at(4, 6), amends=False),
        determined(baik, PredikatCause.RATING, Rating.SESUAI_EKSPEKTASI),
    )
    r.add(
        "appraisal",
        f"evaluation-{EVALUATION}",
        at(4, 8),
        rating(Rating.DI_ATAS_EKSPEKTASI, sangat_baik, at(4, 8), amends=True),
        determined(sangat_baik, PredikatCause.AMENDMENT, Rating.DI_ATAS_EKSPEKTASI),
    )
    r.add(
        "appraisal",
        f"evaluation-{EVALUATION}",
        at(4, 10),
        AppealFiled(
            evaluation_id=EVALUATION,
            nip=ANDI,
            year=2026,
            period="Q1",
            reason="Kurang",
            filed_at=at(4, 10),
            decider_nip=SEKDA,
        ),
    )
    r.add(
        "appraisal",
        f"evaluation-{EVALUATION}",
        at(4, 20),
        AppealDecided(
            evaluation_id=EVALUATION,
            nip=ANDI,
            year=2026,
            period="Q1",
            outcome=AppealOutcome.CHANGED,
            hasil_kerja=Rating.SESUAI_EKSPEKTASI,
            perilaku_kerja=Rating.SESUAI_EKSPEKTASI,
            predikat=baik,
            decided_by=SEKDA,
            decided_at=at(4, 20),
            note="Sesuai bukti",
        ),
        determined(baik, PredikatCause.APPEAL, Rating.SESUAI_EKSPEKTASI),
    )
    r.add("targets", f"skp-{SKP}", at(5, 4),
          SkpRevisionOpened(skp_id=SKP, version=2),
          RhkChanged(skp_id=SKP, rhk_id="rhk-1", text="Laporan bulanan", kind=RhkKind.UTAMA,
                     parent_rhk_id=None, perspective=None, indicators=[indicator]))  # fmt: skip
    return r


def as_of(record: Record, moment: datetime) -> dict[str, Any]:
    return fold(ANDI, record.envelopes, moment).as_json()


def test_before_the_amendment_the_first_predikat_stands(record: Record) -> None:
    [q1] = as_of(record, at(4, 7))["evaluations"]

    assert (q1["predikat"], q1["perilaku_kerja"], q1["final"]) == (
        "BAIK",
        "SESUAI_EKSPEKTASI",
        False,
    )
    assert [r["amends"] for r in q1["ratings"]] == [False]
    assert [d["cause"] for d in q1["determined"]] == ["RATING"]


def test_after_the_amendment_the_amended_predikat_stands_and_the_first_stays_in_history(
    record: Record,
) -> None:
    [q1] = as_of(record, at(4, 9))["evaluations"]

    assert q1["predikat"] == "SANGAT_BAIK"
    assert [(r["predikat"], r["amends"]) for r in q1["ratings"]] == [
        ("BAIK", False), ("SANGAT_BAIK", True)
    ]  # fmt: skip
    assert [d["cause"] for d in q1["determined"]] == ["RATING", "AMENDMENT"]
    assert q1["ratings"][1]["recorded_at"] == "2026-04-08T03:00:00.000000Z"


def test_an_appeal_decided_changed_is_final_and_sets_the_predikat(record: Record) -> None:
    filed = as_of(record, at(4, 15))["evaluations"][0]
    [q1] = as_of(record, at(4, 21))["evaluations"]

    assert (filed["appeal"]["outcome"], filed["predikat"]) == (None, "SANGAT_BAIK")
    assert (q1["appeal"]["outcome"], q1["appeal"]["decided_by"], q1["final"]) == (
        "CHANGED", SEKDA, True
    )  # fmt: skip
    assert q1["predikat"] == "BAIK"
    assert q1["determined"][-1]["cause"] == "APPEAL"


def test_an_entry_before_its_correction_reads_as_recorded(record: Record) -> None:
    [before] = as_of(record, at(2, 20))["entries"]
    [after] = as_of(record, at(3, 5))["entries"]

    assert (before["current"]["realised_value"], before["corrections"]) == (5, [])
    assert (after["recorded"]["realised_value"], after["current"]["realised_value"]) == (5, 2)
    assert [f["text"] for f in after["feedback"]] == ["Ok"]
    assert after["feedback"][0]["given_by"] == KEPALA


def test_an_skp_is_approved_until_its_revision_opens_a_new_draft(record: Record) -> None:
    [approved] = as_of(record, at(4, 1))["skps"]
    [revised] = as_of(record, at(6, 1))["skps"]

    assert (approved["status"], approved["version"]) == ("APPROVED", 1)
    assert approved["rhk"][0]["indicators"][0]["target_value"] == 4
    assert approved["history"][-1]["approved_by"] == KEPALA
    assert (revised["status"], revised["version"]) == ("DRAFT", 2)
    assert revised["rhk"][0]["text"] == "Laporan bulanan"


def test_nothing_recorded_after_the_moment_counts(record: Record) -> None:
    early = as_of(record, at(1, 3))

    assert early["employee"]["supervisors"][0]["supervisor_nip"] == KEPALA
    assert (early["skps"], early["entries"], early["evaluations"]) == ([], [], [])
    assert early["events"] == 2


def test_an_event_this_code_cannot_read_is_named_not_folded(record: Record) -> None:
    [first, *rest] = record.envelopes
    unknown = replace(first, event_type="kinerja.targets.from-the-future")

    folded = fold(ANDI, [unknown, *rest], at(12, 31)).as_json()

    assert folded["unreadable"][0]["stream_id"] == f"employee-{ANDI}"
    assert "from-the-future" in folded["unreadable"][0]["why"]
    assert folded["employee"] is None
    assert folded["events"] == len(record.envelopes)


def test_as_of_a_date_means_the_end_of_that_day_in_the_agencys_time_zone() -> None:
    end_of_day = moment("2026-04-07", WIB)

    assert end_of_day == datetime(2026, 4, 7, 23, 59, 59, 999999, tzinfo=WIB)
    assert moment("2026-04-07T09:30", WIB) == datetime(2026, 4, 7, 2, 30, tzinfo=UTC)
    assert moment("2026-04-07T09:30Z", WIB) == datetime(2026, 4, 7, 9, 30, tzinfo=UTC)
    with pytest.raises(CommandError, match="not an ISO 8601"):
        moment("kemarin", WIB)
