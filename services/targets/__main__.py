"""Run the targets service: its HTTP API and, in the same process, its outbox relay.

python -m services.targets [--host 127.0.0.1] [--port 8001] [--no-relay]
"""

import asyncio
import signal

import typer
import uvicorn

from services.targets.entrypoints.app import SERVICE, build_app
from services.targets.projections import TargetsBoard
from shared.config import KinerjaSettings
from shared.observability.logging import configure_logging
from shared.projections.runner import ProjectionRunner
from shared.relay.outbox import OutboxRelay
from shared.store.db import create_pool
from shared.store.event_store import EventStore


async def serve(host: str, port: int, relay: bool, projections: bool) -> None:
    settings = KinerjaSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    server = uvicorn.Server(
        # access_log off: the correlation middleware logs each request once, with its ids
        uvicorn.Config(build_app(settings), host=host, port=port, log_config=None, access_log=False)
    )
    stop = asyncio.Event()
    tasks = [asyncio.create_task(server.serve())]
    if relay:
        tasks.append(asyncio.create_task(_relay(settings, stop)))
    if projections:
        tasks.append(asyncio.create_task(_project(settings, stop)))

    def shut_down() -> None:
        stop.set()
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shut_down)
    # when either part ends (a signal, or a crash), the other ends too; a crash is re-raised
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    shut_down()
    await asyncio.gather(*tasks)


async def _relay(settings: KinerjaSettings, stop: asyncio.Event) -> None:
    pool = await create_pool(str(settings.database_url), max_size=3)
    try:
        store = EventStore(pool, SERVICE)
        await store.migrate()
        relay = OutboxRelay(
            store,
            settings.kafka_bootstrap_servers,
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
            namespace=settings.topic_namespace,
        )
        await relay.run(stop)
    finally:
        await pool.close()


async def _project(settings: KinerjaSettings, stop: asyncio.Event) -> None:
    pool = await create_pool(str(settings.database_url), max_size=3)
    try:
        board = TargetsBoard(settings.topic_namespace)
        await ProjectionRunner(board, pool, settings.kafka_bootstrap_servers).run(stop)
    finally:
        await pool.close()


def main(
    host: str = typer.Option("127.0.0.1", envvar="KINERJA_TARGETS_HOST"),
    port: int = typer.Option(8001, envvar="KINERJA_TARGETS_PORT"),
    relay: bool = typer.Option(True, help="also publish the store to kinerja.targets.v1"),
    projections: bool = typer.Option(True, help="also feed the read models from the topic"),
) -> None:
    """Serve the targets API (OpenAPI at /openapi.json, docs at /docs) until SIGTERM."""
    asyncio.run(serve(host, port, relay, projections))


if __name__ == "__main__":
    typer.run(main)
