"""The roster: units (a tree) and employees with their history of pejabat penilai."""

from dataclasses import dataclass
from datetime import date

from shared.contracts.targets import (
    EmployeeRegistered,
    JobType,
    SupervisorAssigned,
    UnitCreated,
    UnitHeadAppointed,
)
from shared.domain.aggregate import Aggregate
from shared.domain.errors import RuleViolation, WrongState
from shared.domain.nip import InvalidNip, check_nip
from shared.events.model import DomainEvent


class Unit(Aggregate):
    stream_prefix = "unit"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.name = ""
        self.parent_code: str | None = None
        self.heads: dict[date, str] = {}

    def create(self, name: str, parent: "Unit | None") -> None:
        if self.exists:
            raise WrongState(f"unit {self.identity} already exists")
        if not self.identity.strip():
            raise RuleViolation("code", "a unit needs a code")
        if not name.strip():
            raise RuleViolation("name", "a unit needs a name")
        if parent is not None and not parent.exists:
            raise RuleViolation("parent_code", f"no unit {parent.identity}")
        self._record(
            UnitCreated(
                code=self.identity,
                name=name.strip(),
                parent_code=parent.identity if parent else None,
            )
        )

    def appoint_head(self, head: "Employee", effective_from: date) -> None:
        """`head` heads this unit from `effective_from` on (a Plt too); earlier dates keep
        their head."""
        if not self.exists:
            raise WrongState(f"there is no unit {self.identity}")
        if not head.exists:
            raise RuleViolation("head_nip", f"pegawai {head.identity} is not on the roster")
        if effective_from in self.heads:
            if self.heads[effective_from] == head.identity:
                return  # said again: nothing new to record
            raise RuleViolation(
                "effective_from", f"another head is already appointed from {effective_from}"
            )
        self._record(
            UnitHeadAppointed(
                code=self.identity, head_nip=head.identity, effective_from=effective_from
            )
        )

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case UnitCreated():
                self.name, self.parent_code = event.name, event.parent_code
            case UnitHeadAppointed():
                self.heads[event.effective_from] = event.head_nip
            case _:
                super()._apply(event)


@dataclass(frozen=True)
class Assignment:
    supervisor_nip: str
    effective_from: date


class Employee(Aggregate):
    stream_prefix = "employee"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.name = ""
        self.position = ""
        self.unit_code = ""
        self.job_type = JobType.PELAKSANA
        self.assignments: list[Assignment] = []

    def register(self, name: str, position: str, unit: Unit, job_type: JobType) -> None:
        if self.exists:
            raise WrongState(f"pegawai {self.identity} is already on the roster")
        try:
            check_nip(self.identity)
        except InvalidNip as error:
            raise RuleViolation("nip", str(error)) from None
        for field, value in (("name", name), ("position", position)):
            if not value.strip():
                raise RuleViolation(field, f"a pegawai needs a {field}")
        if not unit.exists:
            raise RuleViolation("unit_code", f"no unit {unit.identity}")
        self._record(
            EmployeeRegistered(
                nip=self.identity,
                name=name.strip(),
                position=position.strip(),
                unit_code=unit.identity,
                job_type=job_type,
            )
        )

    def assign_supervisor(self, supervisor: "Employee", effective_from: date) -> None:
        """`supervisor` rates this pegawai from `effective_from` on; earlier dates keep
        their rater."""
        if not self.exists:
            raise WrongState(f"pegawai {self.identity} is not on the roster")
        if not supervisor.exists:
            raise RuleViolation(
                "supervisor_nip", f"pegawai {supervisor.identity} is not on the roster"
            )
        if supervisor.identity == self.identity:
            raise RuleViolation("supervisor_nip", "a pegawai cannot be their own pejabat penilai")
        if any(a.effective_from == effective_from for a in self.assignments):
            if self.supervisor_on(effective_from) == supervisor.identity:
                return  # said again: nothing new to record
            raise RuleViolation(
                "effective_from", f"another pejabat penilai is already set from {effective_from}"
            )
        self._record(
            SupervisorAssigned(
                nip=self.identity, supervisor_nip=supervisor.identity, effective_from=effective_from
            )
        )

    def supervisor_on(self, day: date) -> str | None:
        """The pejabat penilai on `day`: the latest assignment that had begun by then."""
        begun = [a for a in self.assignments if a.effective_from <= day]
        return max(begun, key=lambda a: a.effective_from).supervisor_nip if begun else None

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case EmployeeRegistered():
                self.name, self.position = event.name, event.position
                self.unit_code, self.job_type = event.unit_code, event.job_type
            case SupervisorAssigned():
                self.assignments.append(Assignment(event.supervisor_nip, event.effective_from))
            case _:
                super()._apply(event)
