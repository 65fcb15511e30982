"""The journal service's HTTP app: wiring only."""

import uuid_utils.compat as uuid7
from fastapi import FastAPI

from services.journal.entrypoints.routes import router
from services.journal.projections import JournalEntries
from services.journal.service_layer.handlers import JournalService
from services.journal.targets_view import TargetsView, TargetsViewReader
from shared.config import KinerjaSettings
from shared.contracts.catalog import full_catalog
from shared.http.service_app import ServiceSpec, service_app
from shared.projections.projection import Projection
from shared.store.repository import Repository

SERVICE = "journal"
DESCRIPTION = (
    "Progress entries with evidence, their corrections, the pejabat penilai's feedback and "
    "action plans. Decides from its own view of the targets, built from `kinerja.targets.v1`."
)


def projections(namespace: str) -> list[Projection]:
    """The read models the service keeps (and replay rebuilds): its view of the targets it
    decides from, and its own entries."""
    return [TargetsView(namespace), JournalEntries(namespace)]


def build_app(settings: KinerjaSettings | None = None) -> FastAPI:
    settings = settings or KinerjaSettings()
    view, entries = projections(settings.topic_namespace)
    assert isinstance(view, TargetsView)
    spec = ServiceSpec(
        service=SERVICE,
        title="Kinerja journal",
        description=DESCRIPTION,
        routers=[router],
        projections=[view, entries],
        handlers=lambda pool, store: JournalService(
            Repository(store, full_catalog()),
            TargetsViewReader(pool, view),
            lambda: str(uuid7.uuid7()),
        ),
    )
    return service_app(spec, settings)
