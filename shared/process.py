"""One service process: its HTTP API, and beside it in the same event loop its outbox relay
and its projections. When any part ends (SIGTERM, or a crash) the others are stopped too, and
a crash is raised."""

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import asyncpg
import structlog
import uvicorn
from aiokafka.errors import KafkaError
from fastapi import FastAPI

from shared.backoff import Backoff
from shared.config import KinerjaSettings
from shared.observability.health import report_worker
from shared.projections.projection import Projection
from shared.projections.runner import ProjectionRunner
from shared.projections.schema import ensure_live_schema
from shared.relay.outbox import OutboxRelay
from shared.store.db import create_pool, database_away
from shared.store.event_store import EventStore

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
log = structlog.get_logger(__name__)


async def serve(app: FastAPI, host: str, port: int, workers: Sequence[Worker]) -> None:
    # access_log off: the correlation middleware logs each request once, with its ids
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )
    stop = asyncio.Event()
    tasks = [asyncio.create_task(server.serve())]
    tasks += [asyncio.create_task(worker(stop)) for worker in workers]

    def shut_down() -> None:
        stop.set()
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shut_down)
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    shut_down()
    await asyncio.gather(*tasks)


# what a broker away looks like to a relay or a runner: they wait for it to come back
BROKER_AWAY = (KafkaError, OSError)
BACKOFF_SECONDS = (1.0, 30.0)


def dependency_away(error: BaseException) -> bool:
    """The broker or the database out of reach for now: wait, don't end the process."""
    return isinstance(error, BROKER_AWAY) or database_away(error)


async def through_outages(name: str, stop: asyncio.Event, body: Worker) -> None:
    """Run `body` until it ends or `stop` is set; while the broker or the database is away
    (at start or later), start it again after a backoff rather than take the process (and
    its API) down: a relay resumes from its checkpoint, a runner from its stored offsets. A
    run that lasted a minute starts the backoff from its first delay again."""
    first, cap = BACKOFF_SECONDS
    backoff = Backoff(first, cap)
    while not stop.is_set():
        started = time.monotonic()
        try:
            report_worker(name, "running")
            await body(stop)
        except Exception as error:
            if not dependency_away(error):
                report_worker(name, f"failed: {error!r}")
                raise
            delay = backoff.after(time.monotonic() - started)
            log.warning("worker.dependency_away", worker=name, error=repr(error), retry_in=delay)
            report_worker(name, f"waiting {delay:g} s for its broker or database: {error!r}")
        else:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)


def relay(settings: KinerjaSettings, service: str, *, batch_size: int = 1000) -> Worker:
    """Publishes the service's store to its topic."""

    async def publish(stop: asyncio.Event) -> None:
        pool = await create_pool(str(settings.database_url), max_size=3)
        try:
            store = EventStore(pool, service)
            await store.migrate()
            await OutboxRelay(
                store,
                settings.kafka_bootstrap_servers,
                partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
                namespace=settings.topic_namespace,
                batch_size=batch_size,
            ).run(stop)
        finally:
            await pool.close()

    return lambda stop: through_outages(f"relay {service}", stop, publish)


def projection(settings: KinerjaSettings, projected: Projection) -> Worker:
    """Feeds one read model from its topics."""

    async def feed(stop: asyncio.Event) -> None:
        pool = await create_pool(str(settings.database_url), max_size=3)
        try:
            await ProjectionRunner(projected, pool, settings.kafka_bootstrap_servers).run(stop)
        finally:
            await pool.close()

    return lambda stop: through_outages(f"projection {projected.name}", stop, feed)


Job = Callable[[asyncpg.Pool], Awaitable[object]]


def tables_of(service: str, projections: Sequence[Projection]) -> Job:
    """Makes the service's store and its read models' tables, as its API does at start-up:
    for a job beside the API that may start first."""

    async def prepare(pool: asyncpg.Pool) -> None:
        await EventStore(pool, service).migrate()
        async with pool.acquire() as db:
            for projection in projections:
                await ensure_live_schema(db, projection)

    return prepare


def periodic(
    settings: KinerjaSettings,
    name: str,
    every_seconds: float,
    job: Job,
    *,
    prepare: Job | None = None,
) -> Worker:
    """Runs `job` now and then every `every_seconds` until stopped, after `prepare` has
    succeeded once. A failing round is logged and the next one tries again: a job's error
    must not take the API down."""

    async def run(stop: asyncio.Event) -> None:
        pool: asyncpg.Pool | None = None
        prepared = prepare is None
        try:
            while not stop.is_set():
                try:
                    # made here, not before the loop: a database away at start is a round
                    # that fails and is tried again, not the end of the process
                    pool = pool or await create_pool(str(settings.database_url), max_size=2)
                    if not prepared and prepare is not None:
                        await prepare(pool)
                        prepared = True
                    await job(pool)
                except Exception as error:
                    if database_away(error):
                        log.warning("periodic.database_away", job=name, error=repr(error))
                    else:
                        log.exception("periodic.failed", job=name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_seconds)
        finally:
            if pool is not None:
                await pool.close()

    return run
