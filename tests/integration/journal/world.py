"""The journal beside the targets on the real broker and database: each store with its relay,
the journal's view of the targets and its read model fed by their runners, on a topic
namespace of their own."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from services.journal.projections import JournalEntries
from services.journal.service_layer.handlers import JournalService
from services.journal.targets_view import TargetsView, TargetsViewReader
from services.targets.service_layer.handlers import TargetsService
from shared.contracts.catalog import full_catalog
from shared.domain.identity import Identity
from shared.projections.runner import ProjectionRunner
from shared.relay.outbox import OutboxRelay
from shared.store.event_store import CommandContext, EventStore
from shared.store.repository import Repository


@dataclass(frozen=True)
class World:
    targets: TargetsService
    journal: JournalService
    read_model: JournalEntries
    journal_store: EventStore


def as_(nip: str) -> Identity:
    return Identity.from_subject(nip)


def context(actor: Identity) -> CommandContext:
    return CommandContext(actor.subject, "journal-test", datetime.now(UTC))


@asynccontextmanager
async def running_world(pool: asyncpg.Pool, kafka_bootstrap_servers: str) -> AsyncIterator[World]:
    namespace = f"journal-{uuid.uuid4().hex[:8]}"
    view, read_model = TargetsView(namespace), JournalEntries(namespace)
    for projection in (view, read_model):
        await pool.execute(f'DROP SCHEMA IF EXISTS "{projection.schema()}" CASCADE')
    targets_store = EventStore(pool, f"targets_{uuid.uuid4().hex[:8]}")
    journal_store = EventStore(pool, f"journal_{uuid.uuid4().hex[:8]}")
    for store in (targets_store, journal_store):
        await store.migrate()
    ids = (f"id-{n}" for n in itertools.count())
    targets = TargetsService(
        Repository(targets_store, full_catalog()), lambda: date(2026, 3, 1), lambda: next(ids)
    )
    journal = JournalService(
        Repository(journal_store, full_catalog()),
        TargetsViewReader(pool, view),
        lambda: str(uuid.uuid4()),
    )
    # the stores' schemas are not the services' names here, so their topics are named outright
    workers: list[OutboxRelay | ProjectionRunner] = [
        OutboxRelay(targets_store, kafka_bootstrap_servers, partitions=3, topic=view.topics[0]),
        OutboxRelay(
            journal_store, kafka_bootstrap_servers, partitions=3, topic=read_model.topics[0]
        ),
        ProjectionRunner(view, pool, kafka_bootstrap_servers),
        ProjectionRunner(read_model, pool, kafka_bootstrap_servers),
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
    try:
        async with asyncio.timeout(60):  # the read models' tables exist before anyone reads them
            while (
                await pool.fetchval(
                    "SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1::text[])",
                    [view.schema(), read_model.schema()],
                )
                < 2
            ):
                await asyncio.sleep(0.05)
        yield World(targets, journal, read_model, journal_store)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
