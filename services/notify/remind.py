"""Send the reminders due now (or at `--at`), once each, however often it runs.

python -m services.notify.remind [--at 2026-03-27T08:00:00+07:00]
"""

import asyncio
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from services.notify.entrypoints.app import SERVICE
from services.notify.projections import Inbox
from services.notify.service_layer.reminders import send_reminders
from services.notify.settings import NotifySettings
from shared.config import KinerjaSettings
from shared.store.db import create_pool
from shared.store.event_store import EventStore


def main(
    at: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z"], help="the moment to judge (default: now)"),
    ] = None,
) -> None:
    """Record each reminder due and not yet sent; prints how many were sent."""
    settings, notify = KinerjaSettings(), NotifySettings()
    moment = (at or datetime.now(ZoneInfo(settings.time_zone))).astimezone(
        ZoneInfo(settings.time_zone)
    )

    async def run() -> int:
        pool = await create_pool(str(settings.database_url), max_size=2)
        try:
            store = EventStore(pool, SERVICE)
            await store.migrate()
            inbox = Inbox(settings.topic_namespace, ledger_schema=SERVICE)
            return await send_reminders(pool, store, inbox, moment, notify.policy())
        finally:
            await pool.close()

    typer.echo(f"reminders sent: {asyncio.run(run())}")


if __name__ == "__main__":
    typer.run(main)
