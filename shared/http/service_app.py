"""The app of one event-sourced service: its pool, its store and idempotency keys migrated,
its read models' tables present, its handlers built, and the common HTTP layer around its
routes. Each service gives only what is its own."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential

from shared.config import KinerjaSettings
from shared.http.app import create_app
from shared.http.idempotency_keys import migrate_idempotency
from shared.observability.health import kafka_check, postgres_check
from shared.projections.projection import Projection
from shared.projections.schema import ensure_live_schema
from shared.store.db import create_pool, database_away
from shared.store.event_store import EventStore, utc_now
from shared.store.migrations import load, migrate

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ServiceSpec:
    service: str
    title: str
    description: str
    routers: Sequence[APIRouter]
    projections: Sequence[Projection]
    # builds the handlers from the pool and the store; set on app.state as `app.state.handlers`
    handlers: Callable[[asyncpg.Pool, EventStore], object]
    version: str = "0.1.0"
    # folders of the service's own numbered SQL migrations for tables outside the event
    # store and its read models (numbers clear of the store's 0001.. and idempotency's 0500)
    migrations: Sequence[Path] = ()


async def prepare(pool: asyncpg.Pool, spec: ServiceSpec, store: EventStore) -> None:
    """Everything a service's database needs before it serves: the store, its idempotency
    keys, its own tables, and its read models' tables (empty) before their first event."""
    await store.migrate()
    async with pool.acquire() as connection:
        await migrate_idempotency(connection, spec.service)
        for folder in spec.migrations:
            await migrate(connection, spec.service, load(folder))
        for projection in spec.projections:
            await ensure_live_schema(connection, projection)


def service_app(
    spec: ServiceSpec, settings: KinerjaSettings, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    pools: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await _when_database_answers(spec.service, settings)
        pools["pool"] = pool
        try:
            store = EventStore(pool, spec.service, clock=clock)
            async for attempt in _while_database_away(spec.service):
                with attempt:
                    await prepare(pool, spec, store)
            app.state.pool = pool
            app.state.handlers = spec.handlers(pool, store)
            yield
        finally:
            await pool.close()

    return create_app(
        service=spec.service,
        title=spec.title,
        version=spec.version,
        description=spec.description,
        routers=spec.routers,
        lifespan=lifespan,
        pool_getter=lambda: pools["pool"],
        # ready while it can reach its database; the broker is needed by the relay and the
        # projections, which wait for it, not by the API (shown in the body all the same)
        checks=lambda: {"postgres": postgres_check(pools["pool"])},
        informational={"kafka": kafka_check(settings.kafka_bootstrap_servers)},
    )


def _while_database_away(service: str) -> AsyncRetrying:
    """Retries of a start-up step while the database is away (restarting, not yet up): the
    process waits for it, as its relay and projections do, instead of exiting (a one-shot
    job bounds the whole start itself: shared/migrate.py)."""
    return AsyncRetrying(
        retry=retry_if_exception(database_away),
        wait=wait_exponential(min=1, max=30),
        before_sleep=lambda state: log.warning(
            "service.database_away",
            service=service,
            error=repr(state.outcome.exception() if state.outcome else None),
            attempt=state.attempt_number,
        ),
        reraise=True,
    )


async def _when_database_answers(service: str, settings: KinerjaSettings) -> asyncpg.Pool:
    async for attempt in _while_database_away(service):
        with attempt:
            return await create_pool(str(settings.database_url), max_size=20)
    raise AssertionError("unreachable: the retries end in a pool or an error")
