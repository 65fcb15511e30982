"""The journal decides from its own view of the targets, fed from Kafka: an entry that comes
before the journal has seen the SKP's approval is refused with a 409-kind error, and the same
entry succeeds once the projection has caught up."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.journal.domain.entry import Realisation
from services.journal.service_layer.handlers import JournalService, RecordEntry
from services.journal.targets_view import TargetsView, TargetsViewReader
from services.targets.domain.skp import skp_id
from services.targets.service_layer import commands as c
from services.targets.service_layer.handlers import TargetsService
from shared.contracts.catalog import full_catalog
from shared.contracts.journal import Evidence
from shared.contracts.targets import Approach, Aspect, Frequency, JobType, RhkKind
from shared.domain.errors import NotYetSeen, WrongState
from shared.domain.identity import Identity
from shared.projections.runner import ProjectionRunner
from shared.relay.outbox import OutboxRelay
from shared.store.event_store import CommandContext, EventStore
from shared.store.repository import Repository

KEPALA, ANDI = "197001011995031001", "199001012015031001"
ADMIN = Identity.from_subject("admin:biro")


def as_(nip: str) -> Identity:
    return Identity.from_subject(nip)


def context(actor: Identity) -> CommandContext:
    return CommandContext(actor.subject, "journal-test", datetime.now(UTC))


@pytest.fixture
async def world(
    pool: asyncpg.Pool, kafka_bootstrap_servers: str
) -> AsyncIterator[tuple[TargetsService, JournalService]]:
    """Targets with its relay, the journal with its view's projection, on a fresh namespace."""
    namespace = f"ooo-{uuid.uuid4().hex[:8]}"
    await pool.execute('DROP SCHEMA IF EXISTS "proj_journal_targets" CASCADE')
    targets_store = EventStore(pool, f"targets_{uuid.uuid4().hex[:8]}")
    journal_store = EventStore(pool, f"journal_{uuid.uuid4().hex[:8]}")
    for store in (targets_store, journal_store):
        await store.migrate()
    ids = (f"id-{n}" for n in itertools.count())
    targets = TargetsService(
        Repository(targets_store, full_catalog()), lambda: date(2026, 3, 1), lambda: next(ids)
    )
    view = TargetsView(namespace)
    journal = JournalService(
        Repository(journal_store, full_catalog()),
        TargetsViewReader(pool, view),
        lambda: str(uuid.uuid4()),
    )
    # the targets store's schema is not "targets" here, so its topic is named outright
    relay = OutboxRelay(targets_store, kafka_bootstrap_servers, partitions=3, topic=view.topics[0])
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(relay.run(stop)),
        asyncio.create_task(ProjectionRunner(view, pool, kafka_bootstrap_servers).run(stop)),
    ]
    try:
        yield targets, journal
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def test_an_entry_before_the_approval_is_seen_is_refused_then_accepted_once_caught_up(
    world: tuple[TargetsService, JournalService],
) -> None:
    targets, journal = world
    await targets.create_unit(c.CreateUnit("BIRO", "Biro"), ADMIN, context(ADMIN))
    for nip, job in ((KEPALA, JobType.JPT), (ANDI, JobType.FUNGSIONAL)):
        await targets.register_employee(
            c.RegisterEmployee(nip, "P", "J", "BIRO", job), ADMIN, context(ADMIN)
        )
    await targets.assign_supervisor(
        c.AssignSupervisor(ANDI, KEPALA, date(2026, 1, 1)), ADMIN, context(ADMIN)
    )
    await targets.open_year(c.OpenYear(2026, Frequency.QUARTERLY), ADMIN, context(ADMIN))
    andi = as_(ANDI)
    the_skp = skp_id(ANDI, 2026)
    proof = Evidence(uri="s3://x/a.pdf", sha256="cd" * 32)
    done_in_march = Realisation(date(2026, 3, 20), "Laporan selesai", 1, None, (proof,))
    entry = RecordEntry(the_skp, "id-0", "id-1", done_in_march)

    with pytest.raises(NotYetSeen):  # nothing of this SKP has reached the journal
        await journal.record_entry(entry, andi, context(andi))

    await targets.draft_skp(c.DraftSkp(ANDI, 2026, Approach.KUANTITATIF), andi, context(andi))
    indicator = c.NewIndicator(Aspect.KUANTITAS, "Laporan", 4, "laporan")
    rhk = c.AddRhk(the_skp, "Tersusunnya laporan", RhkKind.UTAMA, [indicator])
    await targets.add_rhk(rhk, andi, context(andi))
    await targets.submit_skp(c.SubmitSkp(the_skp), andi, context(andi))
    async with asyncio.timeout(60):  # the journal sees the submitted SKP, not yet approved
        while await journal.view.skp(the_skp) is None:
            await asyncio.sleep(0.05)
    with pytest.raises(WrongState, match="not approved"):
        await journal.record_entry(entry, andi, context(andi))

    kepala = as_(KEPALA)
    await targets.approve_skp(c.ApproveSkp(the_skp), kepala, context(kepala))
    async with asyncio.timeout(60):  # retried as a client would, until the projection caught up
        while True:
            try:
                done = await journal.record_entry(entry, andi, context(andi))
                break
            except WrongState:
                await asyncio.sleep(0.1)

    assert done.version == 1
    feedback = await journal.give_feedback(done.id, "Terima kasih", kepala, context(kepala))
    assert feedback.version == 2
