"""Run the journal service: its HTTP API and, in the same process, its outbox relay and the
projection of the targets it decides from.

    python -m services.journal [--host 127.0.0.1] [--port 8002] [--no-relay] [--no-projections]
"""

import asyncio

import typer

from services.journal.entrypoints.app import SERVICE, build_app, projections
from shared import process
from shared.config import KinerjaSettings
from shared.observability.logging import configure_logging


def main(
    host: str = typer.Option("127.0.0.1", envvar="KINERJA_JOURNAL_HOST"),
    port: int = typer.Option(8002, envvar="KINERJA_JOURNAL_PORT"),
    relay: bool = typer.Option(True, help="also publish the store to kinerja.journal.v1"),
    projections_: bool = typer.Option(
        True, "--projections/--no-projections", help="also feed the targets view and read models"
    ),
) -> None:
    """Serve the journal API (OpenAPI at /openapi.json, docs at /docs) until SIGTERM."""
    settings = KinerjaSettings()
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    workers = [process.relay(settings, SERVICE)] if relay else []
    if projections_:
        workers += [process.projection(settings, p) for p in projections(settings.topic_namespace)]
    asyncio.run(process.serve(build_app(settings), host, port, workers))


if __name__ == "__main__":
    typer.run(main)
