"""One handler per journal command, deciding from the journal's own view of the targets."""

from collections.abc import Callable
from dataclasses import dataclass

from services.journal.domain.action_plan import ActionPlan, plan_id
from services.journal.domain.entry import Entry, Realisation
from services.journal.domain.view import SkpView
from services.journal.targets_view import TargetsViewReader
from shared.domain.errors import DomainError, NotFound, NotYetSeen
from shared.domain.identity import Identity
from shared.store.event_store import CommandContext, StreamAppend
from shared.store.repository import Repository


@dataclass(frozen=True)
class RecordEntry:
    skp_id: str
    rhk_id: str
    indicator_id: str
    what: Realisation


class BatchRefused(DomainError):
    """Items of a batch were refused; nothing of the batch was recorded."""

    def __init__(self, refusals: list[tuple[int, DomainError]]) -> None:
        self.refusals = refusals
        super().__init__(f"{len(refusals)} item(s) refused; nothing of the batch was recorded")


@dataclass(frozen=True)
class Done:
    id: str
    version: int


class JournalService:
    def __init__(
        self, repository: Repository, view: TargetsViewReader, new_id: Callable[[], str]
    ) -> None:
        self.repository = repository
        self.view = view
        self.new_id = new_id

    async def record_entry(
        self, command: RecordEntry, actor: Identity, context: CommandContext
    ) -> Done:
        skp = await self._skp(command.skp_id)
        entry = Entry(self.new_id())
        entry.record(actor.nip, skp, command.rhk_id, command.indicator_id, command.what)
        await self.repository.save(entry, subject=entry.nip, context=context)
        return Done(entry.identity, entry.version)

    async def record_entries(
        self, commands: list[RecordEntry], actor: Identity, context: CommandContext
    ) -> list[Done]:
        """A month-end batch: all recorded in one transaction, or none. Every item is checked
        first; refusals come back together, each with its index (BatchRefused)."""
        skps = {skp_id: await self.view.skp(skp_id) for skp_id in {c.skp_id for c in commands}}
        entries, refusals = [], []
        for index, command in enumerate(commands):
            skp = skps[command.skp_id]
            entry = Entry(self.new_id())
            try:
                if skp is None:
                    raise NotYetSeen(f"the journal has not seen SKP {command.skp_id}")
                entry.record(actor.nip, skp, command.rhk_id, command.indicator_id, command.what)
            except DomainError as error:
                refusals.append((index, error))
                continue
            entries.append(entry)
        if refusals:
            raise BatchRefused(refusals)
        appends = [
            StreamAppend(Entry.stream_id(e.identity), 0, e.nip, list(e.pending)) for e in entries
        ]
        await self.repository.store.append_many(appends, context=context)
        return [Done(e.identity, 1) for e in entries]

    async def correct_entry(
        self, entry_id: str, what: Realisation, actor: Identity, context: CommandContext
    ) -> Done:
        entry = await self._entry(entry_id)
        entry.correct(actor.nip, await self._skp(entry.skp_id), what)
        await self.repository.save(entry, subject=entry.nip, context=context)
        return Done(entry.identity, entry.version)

    async def give_feedback(
        self, entry_id: str, text: str, actor: Identity, context: CommandContext
    ) -> Done:
        entry = await self._entry(entry_id)
        entry.give_feedback(actor.nip, await self.view.raters(entry.nip), text)
        await self.repository.save(entry, subject=entry.nip, context=context)
        return Done(entry.identity, entry.version)

    async def set_action_plan(
        self,
        skp_id: str,
        indicator_id: str,
        period: str,
        planned: tuple[float | None, str | None],
        actor: Identity,
        context: CommandContext,
    ) -> Done:
        skp = await self._skp(skp_id)
        plan = await self.repository.load(ActionPlan, plan_id(skp_id, indicator_id, period))
        plan.set(actor.nip, skp, indicator_id, period, *planned)
        await self.repository.save(plan, subject=skp.nip, context=context)
        return Done(plan.identity, plan.version)

    async def skp(self, skp_id: str) -> SkpView:
        """The SKP as the journal has seen it; NotYetSeen (409, retry) if it has not."""
        return await self._skp(skp_id)

    async def _skp(self, skp_id: str) -> SkpView:
        skp = await self.view.skp(skp_id)
        if skp is None:
            raise NotYetSeen(f"the journal has not seen SKP {skp_id}")
        return skp

    async def _entry(self, entry_id: str) -> Entry:
        entry = await self.repository.load(Entry, entry_id)
        if not entry.exists:
            raise NotFound(f"there is no entry {entry_id}")
        return entry
