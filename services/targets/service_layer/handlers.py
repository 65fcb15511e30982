"""One handler per command: load the aggregates it needs, check who asks, run the command,
append what it recorded. Who may do what follows from the roster (ARCHITECTURE.md)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.targets.domain.roster import Employee, Unit
from services.targets.domain.skp import Cascade, Rhk, Skp, skp_id
from services.targets.domain.years import PerformanceYear
from services.targets.service_layer import commands as c
from shared.contracts.targets import Indicator
from shared.domain.errors import NotAllowed, NotFound
from shared.domain.identity import Identity
from shared.store.event_store import CommandContext
from shared.store.repository import Repository


@dataclass(frozen=True)
class Done:
    """What a command touched and the stream version after it."""

    id: str
    version: int
    ids: tuple[str, ...] = ()


class TargetsService:
    def __init__(
        self, repository: Repository, today: Callable[[], date], new_id: Callable[[], str]
    ) -> None:
        self.repository = repository
        self.today = today
        self.new_id = new_id

    async def create_unit(
        self, command: c.CreateUnit, actor: Identity, context: CommandContext
    ) -> Done:
        _admin_only(actor)
        unit = await self.repository.load(Unit, command.code)
        parent = (
            await self.repository.load(Unit, command.parent_code) if command.parent_code else None
        )
        unit.create(command.name, parent)
        await self.repository.save(unit, subject=f"unit:{unit.identity}", context=context)
        return Done(unit.identity, unit.version)

    async def register_employee(
        self, command: c.RegisterEmployee, actor: Identity, context: CommandContext
    ) -> Done:
        _admin_only(actor)
        employee = await self.repository.load(Employee, command.nip)
        unit = await self.repository.load(Unit, command.unit_code)
        employee.register(command.name, command.position, unit, command.job_type)
        await self.repository.save(employee, subject=employee.identity, context=context)
        return Done(employee.identity, employee.version)

    async def assign_supervisor(
        self, command: c.AssignSupervisor, actor: Identity, context: CommandContext
    ) -> Done:
        _admin_only(actor)
        employee = await self._employee(command.nip)
        supervisor = await self.repository.load(Employee, command.supervisor_nip)
        employee.assign_supervisor(supervisor, command.effective_from)
        await self.repository.save(employee, subject=employee.identity, context=context)
        return Done(employee.identity, employee.version)

    async def appoint_unit_head(
        self, command: c.AppointUnitHead, actor: Identity, context: CommandContext
    ) -> Done:
        _admin_only(actor)
        unit = await self.repository.load(Unit, command.code)
        if not unit.exists:
            raise NotFound(f"there is no unit {command.code}")
        head = await self.repository.load(Employee, command.head_nip)
        unit.appoint_head(head, command.effective_from)
        await self.repository.save(unit, subject=f"unit:{unit.identity}", context=context)
        return Done(unit.identity, unit.version)

    async def open_year(
        self, command: c.OpenYear, actor: Identity, context: CommandContext
    ) -> Done:
        _admin_only(actor)
        year = await self.repository.load(PerformanceYear, str(command.year))
        year.open(command.frequency)
        await self.repository.save(year, subject=f"year:{command.year}", context=context)
        return Done(year.identity, year.version)

    async def draft_skp(
        self, command: c.DraftSkp, actor: Identity, context: CommandContext
    ) -> Done:
        _the_pegawai(actor, command.nip)
        await self._employee(command.nip)
        skp = await self.repository.load(Skp, skp_id(command.nip, command.year))
        skp.draft(
            command.nip,
            await self.repository.load(PerformanceYear, str(command.year)),
            command.approach,
        )
        return await self._save(skp, context)

    async def add_rhk(self, command: c.AddRhk, actor: Identity, context: CommandContext) -> Done:
        skp = await self._skp(command.skp_id)
        _the_pegawai(actor, skp.nip)
        rhk = self._rhk(self.new_id(), command)
        skp.add_rhk(rhk, await self._cascade(skp))
        return await self._rhk_done(skp, rhk, context)

    async def change_rhk(
        self, command: c.ChangeRhk, actor: Identity, context: CommandContext
    ) -> Done:
        skp = await self._skp(command.skp_id)
        _the_pegawai(actor, skp.nip)
        rhk = self._rhk(command.rhk_id, command)
        skp.change_rhk(rhk, await self._cascade(skp))
        return await self._rhk_done(skp, rhk, context)

    def _rhk(self, rhk_id: str, command: c.AddRhk | c.ChangeRhk) -> Rhk:
        """The RHK a command describes; each indicator gets a new id."""
        indicators = tuple(
            Indicator(indicator_id=self.new_id(), **vars(indicator))
            for indicator in command.indicators
        )
        return Rhk(
            rhk_id, command.text, command.kind, command.parent_rhk_id, command.perspective,
            indicators,
        )  # fmt: skip

    async def _rhk_done(self, skp: Skp, rhk: Rhk, context: CommandContext) -> Done:
        done = await self._save(skp, context)
        return Done(rhk.rhk_id, done.version, tuple(i.indicator_id for i in rhk.indicators))

    async def remove_rhk(
        self, command: c.RemoveRhk, actor: Identity, context: CommandContext
    ) -> Done:
        skp = await self._skp(command.skp_id)
        _the_pegawai(actor, skp.nip)
        skp.remove_rhk(command.rhk_id)
        return await self._save(skp, context)

    async def set_behaviour_expectations(
        self, command: c.SetBehaviourExpectations, actor: Identity, context: CommandContext
    ) -> Done:
        skp = await self._skp(command.skp_id)
        rater = await self._the_pejabat_penilai(actor, skp)
        skp.set_behaviour_expectations(command.expectations, by=rater)
        return await self._save(skp, context)

    async def submit_skp(
        self, command: c.SubmitSkp, actor: Identity, context: CommandContext
    ) -> Done:
        skp = await self._skp(command.skp_id)
        _the_pegawai(actor, skp.nip)
        skp.submit()
        return await self._save(skp, context)

    async def approve_skp(
        self, command: c.ApproveSkp, actor: Identity, context: CommandContext
    ) -> Done:
        skp = await self._skp(command.skp_id)
        skp.approve(by=await self._the_pejabat_penilai(actor, skp))
        return await self._save(skp, context)

    async def return_skp(
        self, command: c.ReturnSkp, actor: Identity, context: CommandContext
    ) -> Done:
        skp = await self._skp(command.skp_id)
        skp.return_for_revision(command.reason, by=await self._the_pejabat_penilai(actor, skp))
        return await self._save(skp, context)

    async def revise_skp(
        self, command: c.ReviseSkp, actor: Identity, context: CommandContext
    ) -> Done:
        skp = await self._skp(command.skp_id)
        _the_pegawai(actor, skp.nip)
        skp.open_revision()
        return await self._save(skp, context)

    async def _save(self, skp: Skp, context: CommandContext) -> Done:
        await self.repository.save(skp, subject=skp.nip, context=context)
        return Done(skp.identity, skp.version)

    async def _employee(self, nip: str) -> Employee:
        employee = await self.repository.load(Employee, nip)
        if not employee.exists:
            raise NotFound(f"pegawai {nip} is not on the roster")
        return employee

    async def _skp(self, identity: str) -> Skp:
        skp = await self.repository.load(Skp, identity)
        if not skp.exists:
            raise NotFound(f"there is no SKP {identity}")
        return skp

    async def _the_pejabat_penilai(self, actor: Identity, skp: Skp) -> str:
        """The actor's NIP if they rate the SKP's owner today; NotAllowed otherwise."""
        owner = await self._employee(skp.nip)
        rater = owner.supervisor_on(self.today())
        if actor.nip is None or actor.nip != rater:
            raise NotAllowed(f"only the pejabat penilai of {skp.nip} may do this")
        return rater

    async def _cascade(self, skp: Skp) -> Cascade:
        owner = await self._employee(skp.nip)
        rater = owner.supervisor_on(self.today())
        if rater is None:
            return Cascade(owner.job_type, None)
        rater_skp = await self.repository.load(Skp, skp_id(rater, skp.year))
        return Cascade(owner.job_type, frozenset(rater_skp.rhk) if rater_skp.exists else None)


def _admin_only(actor: Identity) -> None:
    if not actor.is_admin:
        raise NotAllowed("only an admin keeps the roster and the performance years")


def _the_pegawai(actor: Identity, nip: str) -> None:
    if actor.nip != nip:
        raise NotAllowed(f"only pegawai {nip} writes their own SKP")
