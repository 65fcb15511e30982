"""Migrate a service's schema without serving it:

    python -m shared.migrate --service journal
    python -m shared.migrate --all

The steps are the ones the service takes at start-up (its event store, its idempotency keys,
the live schemas of its read models), run by entering and leaving the service app's own
lifespan, so a migration Job and a starting service can never disagree. Kubernetes runs it
before an upgrade rolls any pod; compose runs it once before the services start.
"""

import asyncio
import contextlib
import importlib
from collections.abc import Callable
from pathlib import Path

import structlog
import typer
from fastapi import FastAPI

from shared.config import KinerjaSettings
from shared.runtime import start_process

log = structlog.get_logger(__name__)
SERVICES = Path(__file__).parent.parent / "services"
SERVICE = typer.Option(None, "--service", help="a service to migrate (repeatable)")


def service_names() -> list[str]:
    """The services with an app to build: each `services/<name>/entrypoints/app.py`."""
    return sorted(app.parent.parent.name for app in SERVICES.glob("*/entrypoints/app.py"))


def service_app(service: str, settings: KinerjaSettings) -> FastAPI:
    # imported by name: the kit knows no service, as it loads projections by name
    module = importlib.import_module(f"services.{service}.entrypoints.app")
    build_app: Callable[[KinerjaSettings], FastAPI] = module.build_app
    return build_app(settings)


async def migrate(service: str, settings: KinerjaSettings, wait_seconds: float) -> None:
    """The service's start-up steps, then its shut-down. A service starting waits for its
    database as long as it takes; a job must end, so the start may take `wait_seconds`."""
    app = service_app(service, settings)
    async with contextlib.AsyncExitStack() as started:
        try:
            async with asyncio.timeout(wait_seconds):
                await started.enter_async_context(app.router.lifespan_context(app))
        except TimeoutError:
            log.exception("migrate.timed_out", service=service, wait_seconds=wait_seconds)
            raise
        log.info("migrate.done", service=service)


def main(
    service: list[str] | None = SERVICE,
    every: bool = typer.Option(False, "--all", help="every service in one database (compose)"),
    wait_seconds: float = typer.Option(
        120.0,
        min=0,
        help="how long a service's migration may take, waiting for a database that does not"
        " answer yet (a cluster starting) included, before the job fails",
    ),
) -> None:
    """Bring the services' schemas up to date, then exit; a failure exits non-zero."""
    known = service_names()
    chosen = known if every else service or []
    if not chosen or any(name not in known for name in chosen):
        raise typer.BadParameter(f"name --service from {', '.join(known)}, or --all")
    settings = KinerjaSettings()
    start_process("migrate", settings)
    for name in chosen:
        asyncio.run(migrate(name, settings, wait_seconds))


if __name__ == "__main__":
    typer.run(main)
