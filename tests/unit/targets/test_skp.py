"""The SKP lifecycle, as given events / when a command / then events or an error."""

from collections.abc import Callable

import pytest

from services.targets.domain.skp import Cascade, Rhk, Skp, Status, skp_id
from services.targets.domain.years import PerformanceYear, periods_of
from shared.contracts.targets import (
    Approach,
    Aspect,
    BehaviourExpectationsSet,
    BerAkhlak,
    Frequency,
    Indicator,
    JobType,
    PerformanceYearOpened,
    Perspective,
    RhkAdded,
    RhkChanged,
    RhkKind,
    RhkRemoved,
    SkpApproved,
    SkpDrafted,
    SkpReturned,
    SkpRevisionOpened,
    SkpSubmitted,
)
from shared.domain.errors import RuleViolation, WrongState
from shared.events.model import DomainEvent

ANDI, KEPALA = "199001012015031001", "197001011995031001"
SKP = skp_id(ANDI, 2026)
STAFF = Cascade(JobType.FUNGSIONAL, supervisor_rhk_ids=frozenset({"rhk-kepala-1"}))
DRAFTED = SkpDrafted(skp_id=SKP, nip=ANDI, year=2026, approach=Approach.KUANTITATIF)
OPEN_2026 = PerformanceYear.replay(
    "2026",
    [
        PerformanceYearOpened(
            year=2026, frequency=Frequency.QUARTERLY, periods=periods_of(2026, Frequency.QUARTERLY)
        )
    ],
)


def target(indicator_id: str = "iki-1", **changes: object) -> Indicator:
    fields: dict[str, object] = {
        "indicator_id": indicator_id, "aspect": Aspect.KUANTITAS,
        "text": "Laporan kinerja bulanan tersusun", "target_value": 12, "target_unit": "laporan",
    }  # fmt: skip
    return Indicator.model_validate({**fields, **changes})


def rhk(rhk_id: str = "rhk-1", **changes: object) -> Rhk:
    fields: dict[str, object] = {
        "rhk_id": rhk_id, "text": "Tersusunnya laporan kinerja unit", "kind": RhkKind.UTAMA,
        "parent_rhk_id": "rhk-kepala-1", "perspective": None, "indicators": (target(),),
    }  # fmt: skip
    return Rhk(**{**fields, **changes})  # type: ignore[arg-type]


def added(rhk_id: str = "rhk-1") -> RhkAdded:
    r = rhk(rhk_id)
    return RhkAdded(
        skp_id=SKP, rhk_id=r.rhk_id, text=r.text, kind=r.kind, parent_rhk_id=r.parent_rhk_id,
        perspective=None, indicators=list(r.indicators),
    )  # fmt: skip


def given(*events: DomainEvent) -> Skp:
    return Skp.replay(SKP, events)


SUBMITTED = (DRAFTED, added(), SkpSubmitted(skp_id=SKP, version=1))
APPROVED = (*SUBMITTED, SkpApproved(skp_id=SKP, version=1, approved_by=KEPALA))


def test_a_pegawai_drafts_the_skp_of_an_open_year() -> None:
    skp = Skp(SKP)

    skp.draft(ANDI, OPEN_2026, Approach.KUANTITATIF)

    assert skp.pending == [DRAFTED]
    assert (skp.status, skp.skp_version) == (Status.DRAFT, 1)


def test_an_skp_of_a_year_not_opened_is_refused() -> None:
    with pytest.raises(RuleViolation, match="year"):
        Skp(skp_id(ANDI, 2031)).draft(ANDI, PerformanceYear("2031"), Approach.KUANTITATIF)


def test_one_skp_per_pegawai_and_year() -> None:
    with pytest.raises(WrongState, match="already has an SKP"):
        given(DRAFTED).draft(ANDI, OPEN_2026, Approach.KUANTITATIF)


def test_an_rhk_cascaded_from_the_supervisors_rhk_is_added_to_a_draft() -> None:
    skp = given(DRAFTED)

    skp.add_rhk(rhk(), STAFF)

    assert skp.pending == [added()]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (rhk(text="  "), "text"),
        (rhk(indicators=(target(target_value=None),)), "indicators.0.target_value"),
        (rhk(indicators=(target(target_unit=""),)), "indicators.0.target_unit"),
        (rhk(indicators=(target(text=""),)), "indicators.0.text"),
        (rhk(indicators=(target("a"), target("a"))), "indicators"),
        (rhk(parent_rhk_id="rhk-of-someone-else"), "parent_rhk_id"),
        (rhk(perspective=Perspective.ANGGARAN), "perspective"),
    ],
    ids=[
        "empty text", "no target value", "no unit", "empty indicator", "repeated indicator ids",
        "link outside the supervisor's SKP", "perspective for a non-JPT",
    ],
)  # fmt: skip
def test_a_bad_rhk_is_refused_naming_the_field(bad: Rhk, field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        given(DRAFTED).add_rhk(bad, STAFF)
    assert refused.value.field == field


def test_a_link_is_refused_when_the_supervisor_has_no_skp_for_the_year() -> None:
    with pytest.raises(RuleViolation, match="parent_rhk_id"):
        given(DRAFTED).add_rhk(rhk(), Cascade(JobType.FUNGSIONAL, supervisor_rhk_ids=None))


def test_a_jpt_groups_each_rhk_under_a_perspective() -> None:
    jpt = Cascade(JobType.JPT, supervisor_rhk_ids=None)
    with pytest.raises(RuleViolation, match="perspective"):
        given(DRAFTED).add_rhk(rhk(parent_rhk_id=None), jpt)

    skp = given(DRAFTED)
    skp.add_rhk(rhk(parent_rhk_id=None, perspective=Perspective.PENERIMA_LAYANAN), jpt)
    assert [type(e) for e in skp.pending] == [RhkAdded]


def test_a_qualitative_skp_needs_narrative_targets() -> None:
    qualitative = SkpDrafted(skp_id=SKP, nip=ANDI, year=2026, approach=Approach.KUALITATIF)
    narrative = target(target_value=None, target_unit=None, target_text="Kebijakan disahkan")

    with pytest.raises(RuleViolation, match=r"indicators\.0\.target_text"):
        given(qualitative).add_rhk(rhk(), STAFF)
    skp = given(qualitative)
    skp.add_rhk(rhk(indicators=(narrative,)), STAFF)
    assert len(skp.pending) == 1


def test_a_draft_rhk_is_changed_and_removed() -> None:
    skp = given(DRAFTED, added())

    skp.change_rhk(rhk(text="Tersusunnya laporan kinerja triwulanan"), STAFF)
    skp.remove_rhk("rhk-1")

    assert [type(e) for e in skp.pending] == [RhkChanged, RhkRemoved]
    assert skp.rhk == {}


def add_another(skp: Skp) -> None:
    skp.add_rhk(rhk("rhk-2"), STAFF)


def change(skp: Skp) -> None:
    skp.change_rhk(rhk(), STAFF)


def remove(skp: Skp) -> None:
    skp.remove_rhk("rhk-1")


@pytest.mark.parametrize("history", [SUBMITTED, APPROVED], ids=["submitted", "approved"])
@pytest.mark.parametrize("command", [add_another, change, remove])
def test_rhk_change_only_in_draft(
    history: tuple[DomainEvent, ...], command: Callable[[Skp], None]
) -> None:
    with pytest.raises(WrongState, match="must be DRAFT"):
        command(given(*history))


def test_submitting_needs_an_utama_rhk_with_an_indicator() -> None:
    with pytest.raises(WrongState, match="UTAMA"):
        given(DRAFTED).submit()
    only_tambahan = RhkChanged(**{**added().model_dump(), "kind": RhkKind.TAMBAHAN})
    with pytest.raises(WrongState, match="UTAMA"):
        given(DRAFTED, added(), only_tambahan).submit()

    skp = given(DRAFTED, added())
    skp.submit()
    assert skp.pending == [SkpSubmitted(skp_id=SKP, version=1)]


def test_the_pejabat_penilai_approves_a_submitted_skp() -> None:
    skp = given(*SUBMITTED)

    skp.approve(by=KEPALA)

    assert skp.pending == [SkpApproved(skp_id=SKP, version=1, approved_by=KEPALA)]
    assert skp.status is Status.APPROVED


def test_approving_a_draft_is_the_wrong_state() -> None:
    with pytest.raises(WrongState, match="DRAFT"):
        given(DRAFTED, added()).approve(by=KEPALA)


def test_a_returned_skp_is_a_draft_again_with_the_reason_recorded() -> None:
    skp = given(*SUBMITTED)

    skp.return_for_revision("Target kuantitas terlalu rendah", by=KEPALA)

    assert skp.pending == [
        SkpReturned(
            skp_id=SKP, version=1, returned_by=KEPALA, reason="Target kuantitas terlalu rendah"
        )
    ]
    assert skp.status is Status.DRAFT
    with pytest.raises(RuleViolation, match="reason"):
        given(*SUBMITTED).return_for_revision(" ", by=KEPALA)


def test_a_revision_of_an_approved_skp_is_a_new_version_in_draft() -> None:
    skp = given(*APPROVED)

    skp.open_revision()
    skp.change_rhk(rhk(text="Tersusunnya laporan kinerja dan anggaran"), STAFF)

    assert [type(e) for e in skp.pending] == [SkpRevisionOpened, RhkChanged]
    assert skp.pending[0] == SkpRevisionOpened(skp_id=SKP, version=2)
    assert (skp.status, skp.skp_version) == (Status.DRAFT, 2)


def test_only_an_approved_skp_is_revised() -> None:
    with pytest.raises(WrongState):
        given(*SUBMITTED).open_revision()


def test_the_pejabat_penilai_sets_all_seven_behaviour_expectations() -> None:
    expectations = {value.value: f"Harapan untuk {value.value.lower()}" for value in BerAkhlak}
    skp = given(DRAFTED)

    skp.set_behaviour_expectations(expectations, by=KEPALA)

    [event] = skp.pending
    assert isinstance(event, BehaviourExpectationsSet)
    assert event.set_by == KEPALA
    assert set(event.expectations) == set(BerAkhlak)
    missing = {k: v for k, v in expectations.items() if k != "LOYAL"}
    with pytest.raises(RuleViolation, match=r"expectations\.LOYAL"):
        given(DRAFTED).set_behaviour_expectations(missing, by=KEPALA)
    with pytest.raises(WrongState):
        given(*APPROVED).set_behaviour_expectations(expectations, by=KEPALA)
