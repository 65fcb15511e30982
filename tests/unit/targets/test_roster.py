"""The roster, as given events / when a command / then events or an error."""

from datetime import date

import pytest

from services.targets.domain.roster import Employee, Unit
from shared.contracts.targets import (
    EmployeeRegistered,
    JobType,
    SupervisorAssigned,
    UnitCreated,
    UnitHeadAppointed,
)
from shared.domain.errors import RuleViolation, WrongState

KEPALA, ANDI, SITI = "197001011995031001", "199001012015031001", "199205152018012002"
BIRO = Unit.replay("BIRO-SDM", [UnitCreated(code="BIRO-SDM", name="Biro SDM", parent_code=None)])


def employee(nip: str, *later: SupervisorAssigned) -> Employee:
    registered = EmployeeRegistered(
        nip=nip,
        name="Pegawai",
        position="Analis",
        unit_code="BIRO-SDM",
        job_type=JobType.FUNGSIONAL,
    )
    return Employee.replay(nip, [registered, *later])


def test_a_unit_is_created_under_an_existing_parent() -> None:
    unit = Unit("BAG-KINERJA")

    unit.create(" Bagian Kinerja ", parent=BIRO)

    assert unit.pending == [
        UnitCreated(code="BAG-KINERJA", name="Bagian Kinerja", parent_code="BIRO-SDM")
    ]


def test_a_unit_under_a_parent_that_does_not_exist_is_refused() -> None:
    with pytest.raises(RuleViolation, match="parent_code"):
        Unit("BAG-X").create("Bagian X", parent=Unit("NOWHERE"))


def test_a_unit_is_created_once() -> None:
    with pytest.raises(WrongState):
        Unit.replay(
            "BIRO-SDM", [UnitCreated(code="BIRO-SDM", name="Biro", parent_code=None)]
        ).create("Biro", parent=None)


def test_a_pegawai_is_registered_in_an_existing_unit() -> None:
    andi = Employee(ANDI)

    andi.register("Andi Saputra", "Analis SDM", BIRO, JobType.FUNGSIONAL)

    assert andi.pending == [
        EmployeeRegistered(
            nip=ANDI, name="Andi Saputra", position="Analis SDM", unit_code="BIRO-SDM",
            job_type=JobType.FUNGSIONAL,
        )
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("nip", "name", "unit", "field"),
    [
        ("199002302015031001", "Andi", BIRO, "nip"),
        (ANDI, " ", BIRO, "name"),
        (ANDI, "Andi", Unit("NOWHERE"), "unit_code"),
    ],
)
def test_registration_refuses_bad_input_naming_the_field(
    nip: str, name: str, unit: Unit, field: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        Employee(nip).register(name, "Analis", unit, JobType.PELAKSANA)
    assert refused.value.field == field


def test_the_pejabat_penilai_on_a_date_is_the_latest_assignment_begun_by_then() -> None:
    andi = employee(
        ANDI,
        SupervisorAssigned(nip=ANDI, supervisor_nip=KEPALA, effective_from=date(2026, 1, 1)),
        SupervisorAssigned(nip=ANDI, supervisor_nip=SITI, effective_from=date(2026, 7, 1)),
    )

    assert andi.supervisor_on(date(2025, 12, 31)) is None
    assert andi.supervisor_on(date(2026, 6, 30)) == KEPALA
    assert andi.supervisor_on(date(2026, 7, 1)) == SITI


def test_assigning_a_supervisor_records_the_date_it_takes_effect() -> None:
    andi = employee(ANDI)

    andi.assign_supervisor(employee(KEPALA), date(2026, 1, 1))

    assert andi.pending == [
        SupervisorAssigned(nip=ANDI, supervisor_nip=KEPALA, effective_from=date(2026, 1, 1))
    ]


def test_the_same_assignment_said_twice_records_nothing_new() -> None:
    andi = employee(
        ANDI, SupervisorAssigned(nip=ANDI, supervisor_nip=KEPALA, effective_from=date(2026, 1, 1))
    )

    andi.assign_supervisor(employee(KEPALA), date(2026, 1, 1))

    assert andi.pending == []


@pytest.mark.parametrize(
    ("supervisor", "field"),
    [(Employee(KEPALA), "supervisor_nip"), (employee(ANDI), "supervisor_nip")],
    ids=["not on the roster", "oneself"],
)
def test_a_supervisor_who_cannot_rate_is_refused(supervisor: Employee, field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        employee(ANDI).assign_supervisor(supervisor, date(2026, 1, 1))
    assert refused.value.field == field


def test_a_second_supervisor_on_the_same_day_is_refused() -> None:
    andi = employee(
        ANDI, SupervisorAssigned(nip=ANDI, supervisor_nip=KEPALA, effective_from=date(2026, 1, 1))
    )

    with pytest.raises(RuleViolation, match="effective_from"):
        andi.assign_supervisor(employee(SITI), date(2026, 1, 1))


def test_a_unit_head_is_appointed_from_a_date() -> None:
    biro = Unit.replay("BIRO-SDM", [UnitCreated(code="BIRO-SDM", name="Biro", parent_code=None)])

    biro.appoint_head(employee(KEPALA), date(2026, 1, 1))
    biro.appoint_head(employee(KEPALA), date(2026, 1, 1))

    assert biro.pending == [
        UnitHeadAppointed(code="BIRO-SDM", head_nip=KEPALA, effective_from=date(2026, 1, 1))
    ]


def test_a_second_head_on_the_same_day_or_someone_off_the_roster_is_refused() -> None:
    biro = Unit.replay("BIRO-SDM", [UnitCreated(code="BIRO-SDM", name="Biro", parent_code=None)])
    biro.appoint_head(employee(KEPALA), date(2026, 1, 1))

    with pytest.raises(RuleViolation, match="effective_from"):
        biro.appoint_head(employee(SITI), date(2026, 1, 1))
    with pytest.raises(RuleViolation, match="head_nip"):
        biro.appoint_head(Employee(SITI), date(2026, 7, 1))
    with pytest.raises(WrongState):
        Unit("NOWHERE").appoint_head(employee(KEPALA), date(2026, 1, 1))
