"""Run the notify service: its HTTP API and, in the same process, its outbox relay, its
inbox projection of every topic, and the reminder job.

    python -m services.notify [--host 127.0.0.1] [--port 8004] [--no-relay] [--no-projections]
        [--no-reminders] [--no-sending]
"""

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
import typer

from services.notify.delivery.email import NotifySmtpSettings
from services.notify.delivery.worker import sending_worker
from services.notify.entrypoints.app import SERVICE, build_app, projections
from services.notify.projections import Inbox
from services.notify.service_layer.reminders import send_reminders
from services.notify.settings import NotifySettings
from shared import process
from shared.config import KinerjaSettings
from shared.runtime import start_process
from shared.store.event_store import EventStore


def reminders(settings: KinerjaSettings, notify: NotifySettings) -> process.Worker:
    """Looks for reminders due every `KINERJA_NOTIFY_REMINDER_INTERVAL_SECONDS`."""
    zone = ZoneInfo(settings.time_zone)
    inbox = Inbox(settings.topic_namespace, ledger_schema=SERVICE)

    async def round_of_reminders(pool: asyncpg.Pool) -> None:
        store = EventStore(pool, SERVICE)
        await send_reminders(pool, store, inbox, datetime.now(zone), notify.policy())

    interval = notify.reminder_interval.total_seconds()
    tables = process.tables_of(SERVICE, [inbox])
    return process.periodic(settings, "reminders", interval, round_of_reminders, prepare=tables)


def main(
    host: str = typer.Option("127.0.0.1", envvar="KINERJA_NOTIFY_HOST"),
    port: int = typer.Option(8004, envvar="KINERJA_NOTIFY_PORT"),
    relay: bool = typer.Option(True, help="also publish the store to kinerja.notify.v1"),
    projections_: bool = typer.Option(
        True, "--projections/--no-projections", help="also feed the inbox from every topic"
    ),
    reminders_: bool = typer.Option(
        True, "--reminders/--no-reminders", help="also run the reminder job"
    ),
    sending: bool = typer.Option(True, help="also send the decided emails and webhook POSTs"),
) -> None:
    """Serve the notify API (OpenAPI at /openapi.json, docs at /docs) until SIGTERM."""
    settings = KinerjaSettings()
    start_process(SERVICE, settings)
    workers = [process.relay(settings, SERVICE)] if relay else []
    if projections_:
        workers += [process.projection(settings, p) for p in projections(settings.topic_namespace)]
    if reminders_:
        workers.append(reminders(settings, NotifySettings()))
    if sending:
        workers.append(sending_worker(settings, NotifySmtpSettings()))
    asyncio.run(process.serve(build_app(settings), host, port, workers))


if __name__ == "__main__":
    typer.run(main)
