"""The targets service's HTTP app: wiring only (config, pool, store, handlers, routes)."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import uuid_utils.compat as uuid7
from fastapi import FastAPI

from services.targets.entrypoints.routes import router
from services.targets.projections import TargetsBoard
from services.targets.service_layer.handlers import TargetsService
from shared.config import KinerjaSettings
from shared.contracts.catalog import full_catalog
from shared.http.app import create_app
from shared.http.idempotency_keys import migrate_idempotency
from shared.observability.health import kafka_check, postgres_check
from shared.projections.schema import ensure_live_schema
from shared.store.db import create_pool
from shared.store.event_store import EventStore, utc_now
from shared.store.repository import Repository

SERVICE = "targets"
WIB = ZoneInfo("Asia/Jakarta")
DESCRIPTION = (
    "The agency roster (units, employees, who rates whom since when), performance years and "
    "each pegawai's SKP. Every change is an event on `kinerja.targets.v1`."
)


def build_app(
    settings: KinerjaSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    settings = settings or KinerjaSettings()
    pools: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(str(settings.database_url), max_size=20)
        pools["pool"] = pool
        try:
            store = EventStore(pool, SERVICE, clock=clock)
            await store.migrate()
            async with pool.acquire() as connection:
                await migrate_idempotency(connection, SERVICE)
                # the read model's tables exist (empty) before the projection's first event
                await ensure_live_schema(connection, TargetsBoard(settings.topic_namespace))
            app.state.pool = pool
            app.state.targets = TargetsService(
                Repository(store, full_catalog()), today(clock), lambda: str(uuid7.uuid7())
            )
            yield
        finally:
            await pool.close()

    return create_app(
        service=SERVICE,
        title="Kinerja targets",
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


def today(clock: Callable[[], datetime]) -> Callable[[], date]:
    """The date of the clock, in Indonesia's western time zone (WIB) where most agencies sit."""
    return lambda: clock().astimezone(WIB).date()
