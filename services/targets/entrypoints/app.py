"""The targets service's HTTP app: wiring only."""

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import uuid_utils.compat as uuid7
from fastapi import FastAPI

from services.targets.entrypoints.routes import router
from services.targets.projections import TargetsBoard
from services.targets.service_layer.handlers import TargetsService
from shared.config import KinerjaSettings
from shared.contracts.catalog import full_catalog
from shared.http.service_app import ServiceSpec, service_app
from shared.projections.projection import Projection
from shared.store.event_store import utc_now
from shared.store.repository import Repository

SERVICE = "targets"
WIB = ZoneInfo("Asia/Jakarta")
DESCRIPTION = (
    "The agency roster (units, employees, who rates whom since when), performance years and "
    "each pegawai's SKP. Every change is an event on `kinerja.targets.v1`."
)


def projections(namespace: str) -> list[Projection]:
    """The read models the service keeps (and replay rebuilds)."""
    return [TargetsBoard(namespace)]


def build_app(
    settings: KinerjaSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    settings = settings or KinerjaSettings()
    spec = ServiceSpec(
        service=SERVICE,
        title="Kinerja targets",
        description=DESCRIPTION,
        routers=[router],
        projections=projections(settings.topic_namespace),
        handlers=lambda pool, store: TargetsService(
            Repository(store, full_catalog()), today(clock), lambda: str(uuid7.uuid7())
        ),
    )
    return service_app(spec, settings, clock=clock)


def today(clock: Callable[[], datetime]) -> Callable[[], date]:
    """The date of the clock, in Indonesia's western time zone (WIB) where most agencies sit."""
    return lambda: clock().astimezone(WIB).date()
