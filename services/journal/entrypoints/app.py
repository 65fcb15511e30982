"""The journal service's HTTP app: wiring only."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uuid_utils.compat as uuid7
from fastapi import FastAPI

from services.journal.entrypoints.routes import router
from services.journal.service_layer.handlers import JournalService
from services.journal.targets_view import TargetsView, TargetsViewReader
from shared.config import KinerjaSettings
from shared.contracts.catalog import full_catalog
from shared.http.app import create_app
from shared.http.idempotency_keys import migrate_idempotency
from shared.observability.health import kafka_check, postgres_check
from shared.projections.schema import ensure_live_schema
from shared.store.db import create_pool
from shared.store.event_store import EventStore
from shared.store.repository import Repository

SERVICE = "journal"
DESCRIPTION = (
    "Progress entries with evidence, their corrections, the pejabat penilai's feedback and "
    "action plans. Decides from its own view of the targets, built from `kinerja.targets.v1`."
)


def build_app(settings: KinerjaSettings | None = None) -> FastAPI:
    settings = settings or KinerjaSettings()
    pools: dict[str, asyncpg.Pool] = {}
    view = TargetsView(settings.topic_namespace)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(str(settings.database_url), max_size=20)
        pools["pool"] = pool
        try:
            store = EventStore(pool, SERVICE)
            await store.migrate()
            async with pool.acquire() as connection:
                await migrate_idempotency(connection, SERVICE)
                await ensure_live_schema(connection, view)
            app.state.journal = JournalService(
                Repository(store, full_catalog()),
                TargetsViewReader(pool, view),
                lambda: str(uuid7.uuid7()),
            )
            yield
        finally:
            await pool.close()

    return create_app(
        service=SERVICE,
        title="Kinerja journal",
        version="0.1.0",
        description=DESCRIPTION,
        routers=[router],
        lifespan=lifespan,
        pool_getter=lambda: pools["pool"],
        checks=lambda: {
            "postgres": postgres_check(pools["pool"]),
            "kafka": kafka_check(settings.kafka_bootstrap_servers),
        },
    )
