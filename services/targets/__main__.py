"""Run the targets service: its HTTP API and, in the same process, its outbox relay and the
projection that feeds its read models.

    python -m services.targets [--host 127.0.0.1] [--port 8001] [--no-relay] [--no-projections]
"""

import asyncio

import typer

from services.targets.entrypoints.app import SERVICE, build_app, projections
from shared import process
from shared.config import KinerjaSettings
from shared.runtime import start_process


def main(
    host: str = typer.Option("127.0.0.1", envvar="KINERJA_TARGETS_HOST"),
    port: int = typer.Option(8001, envvar="KINERJA_TARGETS_PORT"),
    relay: bool = typer.Option(True, help="also publish the store to kinerja.targets.v1"),
    projections_: bool = typer.Option(
        True, "--projections/--no-projections", help="also feed the read models from the topic"
    ),
) -> None:
    """Serve the targets API (OpenAPI at /openapi.json, docs at /docs) until SIGTERM."""
    settings = KinerjaSettings()
    start_process(SERVICE, settings)
    workers = [process.relay(settings, SERVICE)] if relay else []
    if projections_:
        workers += [process.projection(settings, p) for p in projections(settings.topic_namespace)]
    asyncio.run(process.serve(build_app(settings), host, port, workers))


if __name__ == "__main__":
    typer.run(main)
