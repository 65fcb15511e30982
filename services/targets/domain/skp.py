"""The SKP (Sasaran Kinerja Pegawai) of one pegawai for one year.

draft → submitted → approved, or returned with a reason to draft; an approved SKP is
revised as a new version in draft, the approved one kept in the history. RHK and
indicators change only in draft.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.targets.domain.years import PerformanceYear
from shared.contracts.targets import (
    Approach,
    BehaviourExpectationsSet,
    BerAkhlak,
    Indicator,
    JobType,
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
from shared.domain.aggregate import Aggregate
from shared.domain.errors import RuleViolation, WrongState
from shared.events.model import DomainEvent


class Status(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"


@dataclass(frozen=True)
class Rhk:
    rhk_id: str
    text: str
    kind: RhkKind
    parent_rhk_id: str | None
    perspective: Perspective | None
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Cascade:
    """What the handler looked up for an RHK's link: the pegawai's job type, and the RHK of
    their pejabat penilai's SKP for the year (None: no pejabat penilai or no SKP yet)."""

    job_type: JobType
    supervisor_rhk_ids: frozenset[str] | None


def skp_id(nip: str, year: int) -> str:
    return f"{nip}-{year}"


class Skp(Aggregate):
    stream_prefix = "skp"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.nip = ""
        self.year = 0
        self.approach = Approach.KUANTITATIF
        self.status = Status.DRAFT
        self.skp_version = 0
        self.rhk: dict[str, Rhk] = {}
        self.expectations: dict[BerAkhlak, str] = {}

    def draft(self, nip: str, year: PerformanceYear, approach: Approach) -> None:
        if self.exists:
            raise WrongState(f"pegawai {nip} already has an SKP for {self.year}")
        if not year.exists:
            raise RuleViolation("year", f"performance year {year.identity} is not open")
        self._record(SkpDrafted(skp_id=self.identity, nip=nip, year=year.year, approach=approach))

    def add_rhk(self, rhk: Rhk, cascade: Cascade) -> None:
        self._check_editable()
        if rhk.rhk_id in self.rhk:
            raise WrongState(f"RHK {rhk.rhk_id} is already in this SKP")
        self._check_rhk(rhk, cascade)
        self._record(RhkAdded(skp_id=self.identity, **_fields(rhk)))

    def change_rhk(self, rhk: Rhk, cascade: Cascade) -> None:
        self._check_editable()
        self._check_known(rhk.rhk_id)
        self._check_rhk(rhk, cascade)
        self._record(RhkChanged(skp_id=self.identity, **_fields(rhk)))

    def remove_rhk(self, rhk_id: str) -> None:
        self._check_editable()
        self._check_known(rhk_id)
        self._record(RhkRemoved(skp_id=self.identity, rhk_id=rhk_id))

    def set_behaviour_expectations(self, expectations: Mapping[str, str], by: str) -> None:
        if self.status is Status.APPROVED:
            raise WrongState("an approved SKP's expectations change only in a revision")
        missing = [value for value in BerAkhlak if not expectations.get(value, "").strip()]
        if missing:
            raise RuleViolation(
                f"expectations.{missing[0]}", "each of the seven values needs an expectation"
            )
        unknown = sorted(set(expectations) - set(BerAkhlak))
        if unknown:
            raise RuleViolation(
                f"expectations.{unknown[0]}", "not one of the seven BerAKHLAK values"
            )
        self._record(
            BehaviourExpectationsSet(
                skp_id=self.identity,
                set_by=by,
                expectations={BerAkhlak(k): v.strip() for k, v in expectations.items()},
            )
        )

    def submit(self) -> None:
        self._check_status(Status.DRAFT, "submit")
        if not any(r.kind is RhkKind.UTAMA and r.indicators for r in self.rhk.values()):
            raise WrongState(
                "an SKP is submitted with at least one UTAMA RHK that has an indicator"
            )
        self._record(SkpSubmitted(skp_id=self.identity, version=self.skp_version))

    def approve(self, by: str) -> None:
        self._check_status(Status.SUBMITTED, "approve")
        self._record(SkpApproved(skp_id=self.identity, version=self.skp_version, approved_by=by))

    def return_for_revision(self, reason: str, by: str) -> None:
        self._check_status(Status.SUBMITTED, "return")
        if not reason.strip():
            raise RuleViolation("reason", "say why the SKP goes back")
        self._record(
            SkpReturned(
                skp_id=self.identity,
                version=self.skp_version,
                returned_by=by,
                reason=reason.strip(),
            )
        )

    def open_revision(self) -> None:
        self._check_status(Status.APPROVED, "revise")
        self._record(SkpRevisionOpened(skp_id=self.identity, version=self.skp_version + 1))

    def _check_editable(self) -> None:
        self._check_status(Status.DRAFT, "change the RHK of")

    def _check_status(self, wanted: Status, doing: str) -> None:
        if not self.exists:
            raise WrongState(f"there is no SKP {self.identity}")
        if self.status is not wanted:
            raise WrongState(f"cannot {doing} an SKP that is {self.status}; it must be {wanted}")

    def _check_known(self, rhk_id: str) -> None:
        if rhk_id not in self.rhk:
            raise RuleViolation("rhk_id", f"RHK {rhk_id} is not in this SKP")

    def _check_rhk(self, rhk: Rhk, cascade: Cascade) -> None:
        if not rhk.text.strip():
            raise RuleViolation("text", "an RHK needs a text")
        if rhk.parent_rhk_id is not None and rhk.parent_rhk_id not in (
            cascade.supervisor_rhk_ids or frozenset()
        ):
            raise RuleViolation(
                "parent_rhk_id",
                "the RHK supported must be in the pejabat penilai's SKP of this year",
            )
        if cascade.job_type is JobType.JPT and rhk.perspective is None:
            raise RuleViolation("perspective", "a JPT groups each RHK under a perspective")
        if cascade.job_type is not JobType.JPT and rhk.perspective is not None:
            raise RuleViolation("perspective", "only a JPT's RHK have perspectives")
        self._check_indicators(rhk.indicators)

    def _check_indicators(self, indicators: Sequence[Indicator]) -> None:
        ids = [i.indicator_id for i in indicators]
        if len(set(ids)) != len(ids):
            raise RuleViolation("indicators", "indicator ids repeat")
        for n, indicator in enumerate(indicators):
            where = f"indicators.{n}"
            if not indicator.text.strip():
                raise RuleViolation(f"{where}.text", "an indicator needs a text")
            if self.approach is Approach.KUANTITATIF:
                if indicator.target_value is None or indicator.target_value <= 0:
                    raise RuleViolation(
                        f"{where}.target_value", "a quantitative target is a number above 0"
                    )
                if not (indicator.target_unit or "").strip():
                    raise RuleViolation(f"{where}.target_unit", "a quantitative target has a unit")
            elif not (indicator.target_text or "").strip():
                raise RuleViolation(f"{where}.target_text", "a qualitative target is a narrative")

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case SkpDrafted():
                self.nip, self.year, self.approach = event.nip, event.year, event.approach
                self.status, self.skp_version = Status.DRAFT, 1
            case RhkAdded() | RhkChanged():
                self.rhk[event.rhk_id] = Rhk(
                    event.rhk_id, event.text, event.kind, event.parent_rhk_id,
                    event.perspective, tuple(event.indicators),
                )  # fmt: skip
            case RhkRemoved():
                del self.rhk[event.rhk_id]
            case BehaviourExpectationsSet():
                self.expectations = dict(event.expectations)
            case SkpSubmitted():
                self.status = Status.SUBMITTED
            case SkpApproved():
                self.status = Status.APPROVED
            case SkpReturned():
                self.status = Status.DRAFT
            case SkpRevisionOpened():
                self.status, self.skp_version = Status.DRAFT, event.version
            case _:
                super()._apply(event)


def _fields(rhk: Rhk) -> dict[str, object]:
    return {
        "rhk_id": rhk.rhk_id,
        "text": rhk.text.strip(),
        "kind": rhk.kind,
        "parent_rhk_id": rhk.parent_rhk_id,
        "perspective": rhk.perspective,
        "indicators": list(rhk.indicators),
    }
