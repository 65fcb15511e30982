"""The notify service's HTTP app: wiring only."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from services.notify.delivery.registry import WebhookHandlers
from services.notify.entrypoints.routes import router
from services.notify.projections import Inbox
from services.notify.service_layer.contacts import ContactHandlers
from services.notify.service_layer.inbox import InboxService
from shared.config import KinerjaSettings
from shared.contracts.catalog import full_catalog
from shared.http.service_app import ServiceSpec, service_app
from shared.projections.projection import Projection
from shared.store.event_store import EventStore, utc_now
from shared.store.repository import Repository

SERVICE = "notify"
MIGRATIONS = Path(__file__).parents[1] / "sql"
DESCRIPTION = (
    "Inbox, reminders, email and signed webhooks. Reads every topic; a redelivered or "
    "replayed event never sends a second email or webhook."
)


def projections(namespace: str) -> list[Projection]:
    """The read models the service keeps (and replay rebuilds)."""
    return [Inbox(namespace, ledger_schema=SERVICE)]


@dataclass(frozen=True)
class Handlers:
    inbox: InboxService
    webhooks: WebhookHandlers
    contacts: ContactHandlers


def build_app(
    settings: KinerjaSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    settings = settings or KinerjaSettings()
    [inbox] = projections(settings.topic_namespace)
    assert isinstance(inbox, Inbox)

    def handlers(pool: asyncpg.Pool, store: EventStore) -> Handlers:
        return Handlers(
            inbox=InboxService(pool, store, inbox),
            webhooks=WebhookHandlers(store),
            contacts=ContactHandlers(Repository(store, full_catalog())),
        )

    spec = ServiceSpec(
        service=SERVICE,
        title="Kinerja notify",
        description=DESCRIPTION,
        routers=[router],
        projections=[inbox],
        handlers=handlers,
        migrations=[MIGRATIONS],
    )
    return service_app(spec, settings, clock=clock)
