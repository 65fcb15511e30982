"""One handler per appraisal command, deciding from appraisal's own view of the roster and
years, its own aggregates, and the agency's rules. The clock is injected."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.appraisal.domain.curve_watch import CurveWatch
from services.appraisal.domain.distribution import DistributionVerdict, judge_distribution
from services.appraisal.domain.evaluation import Evaluation
from services.appraisal.domain.organisation import OrganisationPredicate
from services.appraisal.service_layer import distribution
from services.appraisal.service_layer.facts import FactsReader
from services.appraisal.service_layer.rules_book import RulesBook
from services.appraisal.service_layer.worksheets import worksheet
from shared.contracts.appraisal import AppealOutcome, OrganisationPredikat, Rating
from shared.domain import readers
from shared.domain.errors import NotAllowed, NotFound
from shared.domain.identity import Identity
from shared.store.event_store import CommandContext
from shared.store.repository import Repository


@dataclass(frozen=True)
class Done:
    id: str
    version: int
    predikat: str | None = None


class AppraisalService:
    def __init__(
        self,
        repository: Repository,
        facts: FactsReader,
        rules: RulesBook,
        clock: Callable[[], datetime],
        zone: ZoneInfo,
    ) -> None:
        self.repository = repository
        self.facts = facts
        self.rules = rules
        self.clock = clock
        self.zone = zone

    def now(self) -> datetime:
        """The present moment in the agency's time zone: its dates decide periods."""
        return self.clock().astimezone(self.zone)

    async def rate(
        self,
        at: tuple[str, int, str],
        ratings: tuple[Rating | None, Rating],
        note: str | None,
        actor: Identity,
        context: CommandContext,
    ) -> Done:
        nip, year, period = at
        facts = await self.facts.period(nip, year, period)
        organisation = await self._organisation_of_head(facts.headed_units, year, period)
        evaluation = await self.repository.load(Evaluation, Evaluation.id_of(*at))
        evaluation.rate(
            actor.nip, facts, ratings, note, self.now(), organisation, self.rules.results(year)
        )
        return await self._save(evaluation, context)

    async def file_appeal(
        self, at: tuple[str, int, str], reason: str, actor: Identity, context: CommandContext
    ) -> Done:
        facts = await self.facts.period(*at)
        evaluation = await self.repository.load(Evaluation, Evaluation.id_of(*at))
        evaluation.file_appeal(actor.nip, facts, reason, self.now())
        return await self._save(evaluation, context)

    async def decide_appeal(
        self,
        at: tuple[str, int, str],
        decision: tuple[AppealOutcome, Rating | None, Rating | None],
        note: str,
        actor: Identity,
        context: CommandContext,
    ) -> Done:
        outcome, hasil_kerja, perilaku_kerja = decision
        evaluation = await self.repository.load(Evaluation, Evaluation.id_of(*at))
        evaluation.decide_appeal(
            actor.nip, outcome, (hasil_kerja, perilaku_kerja), note, self.now(),
            self.rules.results(at[1]),
        )  # fmt: skip
        return await self._save(evaluation, context)

    async def set_organisation_predicate(
        self,
        at: tuple[str, int, str],
        predikat: OrganisationPredikat,
        actor: Identity,
        context: CommandContext,
    ) -> Done:
        if not actor.is_admin:
            raise NotAllowed("only an admin records a unit's organisation predicate")
        code, year, period = at
        await self.facts.span(year, period)
        unit = await self.repository.load(OrganisationPredicate, OrganisationPredicate.id_of(*at))
        unit.set(predikat, actor.subject, unit_known=await self.facts.unit_known(code))
        await self.repository.save(unit, subject=f"unit:{code}", context=context)
        return Done(unit.identity, unit.version, predikat.value)

    async def evaluation(
        self, at: tuple[str, int, str], reader: Identity
    ) -> tuple[Evaluation, list[dict[str, Any]]]:
        """The evaluation as its stream has it (not a read model: what was decided is read
        back at once), with every event of its history."""
        await self.facts.span(at[1], at[2])
        stream = await self.repository.store.read_stream(
            Evaluation.stream_id(Evaluation.id_of(*at))
        )
        evaluation = Evaluation.replay(
            Evaluation.id_of(*at), [e.decode(self.repository.registry) for e in stream]
        )
        decider = evaluation.appeal.decider if evaluation.appeal else None
        await self.check_may_read(at[0], reader, also=decider)
        history = [
            {"type": e.event_type, "version": e.stream_version, "recorded_at": e.recorded_at,
             "actor": e.actor, "payload": e.payload}
            for e in stream
        ]  # fmt: skip
        return evaluation, history

    async def worksheet(self, at: tuple[str, int, str], reader: Identity) -> dict[str, Any]:
        await self.check_may_read(at[0], reader)
        span = await self.facts.span(at[1], at[2])
        return await worksheet(self.facts.pool, *at, span)

    async def distribution(self, at: tuple[str, int, str], reader: Identity) -> DistributionVerdict:
        code, year, period = at
        _, ends = await self.facts.span(year, period)
        heads = await self.facts.heads(code)
        if reader.kind == "pegawai" and reader.nip not in (
            heads.on(ends),
            heads.on(self.now().date()),
        ):
            raise NotAllowed(f"admins, auditors and the head of {code} read its distribution")
        verdict = await self._verdict(at)
        if verdict is None:
            raise NotFound(f"unit {code} has no organisation predicate for {period} {year} yet")
        return verdict

    async def judge_curves(self, context: CommandContext) -> int:
        """Record, for every unit with an organisation predicate, each change in whether its
        curve holds (`distribution-judged`); how many changes were recorded."""
        recorded = 0
        for at in await distribution.units_with_predicates(self.facts.pool):
            verdict = await self._verdict(at)
            watch = await self.repository.load(CurveWatch, OrganisationPredicate.id_of(*at))
            if verdict is not None:
                watch.judge(verdict)
            recorded += len(watch.pending)
            await self.repository.save(watch, subject=f"unit:{at[0]}", context=context)
        return recorded

    async def _verdict(self, at: tuple[str, int, str]) -> DistributionVerdict | None:
        pool: asyncpg.Pool = self.facts.pool
        organisation = await distribution.organisation_predikat(pool, *at)
        if organisation is None:
            return None
        counts = await distribution.predicate_counts(pool, *at)
        return judge_distribution(organisation, counts, self.rules.curve(at[1]))

    async def _organisation_of_head(
        self, units: tuple[str, ...], year: int, period: str
    ) -> OrganisationPredikat | None:
        for code in units:
            unit = await self.repository.load(
                OrganisationPredicate, OrganisationPredicate.id_of(code, year, period)
            )
            if unit.predikat is not None:
                return unit.predikat
        return None

    async def check_may_read(self, nip: str, reader: Identity, also: str | None = None) -> None:
        """The pegawai, their raters, admins, auditors (and, for an evaluation under appeal,
        its decider)."""
        await readers.check_may_read(nip, reader, self.facts.raters, also=also, what="this")

    async def _save(self, evaluation: Evaluation, context: CommandContext) -> Done:
        await self.repository.save(evaluation, subject=evaluation.nip, context=context)
        predikat = evaluation.result.predikat.value if evaluation.result else None
        return Done(evaluation.identity, evaluation.version, predikat)
