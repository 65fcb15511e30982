"""The appraisal service's HTTP app: wiring only."""

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI

from services.appraisal.entrypoints.routes import router
from services.appraisal.projections import JournalFacts, Results, TargetsFacts
from services.appraisal.service_layer.facts import FactsReader
from services.appraisal.service_layer.handlers import AppraisalService
from services.appraisal.service_layer.rules_book import RulesBook
from shared.config import KinerjaSettings
from shared.contracts.catalog import full_catalog
from shared.http.service_app import ServiceSpec, service_app
from shared.projections.projection import Projection
from shared.store.event_store import EventStore, utc_now
from shared.store.repository import Repository

SERVICE = "appraisal"
DESCRIPTION = (
    "Worksheets, ratings and the predikat, organisation predicates and the distribution "
    "curve, appeals and the annual result. Reads `kinerja.targets.v1` and `kinerja.journal.v1`"
    "; publishes `kinerja.appraisal.v1`."
)


def projections(namespace: str) -> list[Projection]:
    """The read models the service keeps (and replay rebuilds)."""
    return [TargetsFacts(namespace), JournalFacts(namespace), Results(namespace)]


def appraisal_service(
    pool: asyncpg.Pool,
    store: EventStore,
    settings: KinerjaSettings,
    clock: Callable[[], datetime] = utc_now,
    *,
    rules: RulesBook | None = None,
) -> AppraisalService:
    return AppraisalService(
        Repository(store, full_catalog()),
        FactsReader(pool),
        rules or RulesBook(settings.agency),
        clock,
        ZoneInfo(settings.time_zone),
    )


def build_app(
    settings: KinerjaSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    settings = settings or KinerjaSettings()
    configured = settings
    spec = ServiceSpec(
        service=SERVICE,
        title="Kinerja appraisal",
        description=DESCRIPTION,
        routers=[router],
        projections=projections(settings.topic_namespace),
        handlers=lambda pool, store: appraisal_service(pool, store, configured, clock),
    )
    return service_app(spec, settings, clock=clock)
