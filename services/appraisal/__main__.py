"""Run the appraisal service: its HTTP API and, in the same process, its outbox relay and
its projections of the targets, the journal and its own results.

    python -m services.appraisal [--host 127.0.0.1] [--port 8003] [--no-relay] [--no-projections]
"""

import asyncio

import asyncpg
import typer
import uuid_utils.compat as uuid7

from services.appraisal.entrypoints.app import SERVICE, appraisal_service, build_app, projections
from services.appraisal.service_layer.rules_book import RulesBook
from shared import process
from shared.config import KinerjaSettings
from shared.runtime import start_process
from shared.store.event_store import CommandContext, EventStore


def curve_watch(settings: KinerjaSettings, every_seconds: float) -> process.Worker:
    """Records each change in whether a unit's distribution curve holds."""

    rules = RulesBook(settings.agency)  # read once, not each round

    async def judge(pool: asyncpg.Pool) -> None:
        service = appraisal_service(pool, EventStore(pool, SERVICE), settings, rules=rules)
        context = CommandContext("appraisal:curve-watch", str(uuid7.uuid7()), service.now())
        await service.judge_curves(context)

    tables = process.tables_of(SERVICE, projections(settings.topic_namespace))
    return process.periodic(settings, "curve-watch", every_seconds, judge, prepare=tables)


def main(
    host: str = typer.Option("127.0.0.1", envvar="KINERJA_APPRAISAL_HOST"),
    port: int = typer.Option(8003, envvar="KINERJA_APPRAISAL_PORT"),
    relay: bool = typer.Option(True, help="also publish the store to kinerja.appraisal.v1"),
    projections_: bool = typer.Option(
        True, "--projections/--no-projections", help="also feed the read models"
    ),
    curve_watch_seconds: float = typer.Option(
        30,
        envvar="KINERJA_APPRAISAL_CURVE_WATCH_SECONDS",
        help="how often to judge the units' distribution curves (0: never, in this process)",
    ),
) -> None:
    """Serve the appraisal API (OpenAPI at /openapi.json, docs at /docs) until SIGTERM."""
    settings = KinerjaSettings()
    start_process(SERVICE, settings)
    workers = [process.relay(settings, SERVICE)] if relay else []
    if projections_:
        workers += [process.projection(settings, p) for p in projections(settings.topic_namespace)]
    if curve_watch_seconds > 0:
        workers.append(curve_watch(settings, curve_watch_seconds))
    asyncio.run(process.serve(build_app(settings), host, port, workers))


if __name__ == "__main__":
    typer.run(main)
