"""`create_app`: one service's FastAPI application with the shared HTTP layer wired in."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http.auth import JwtSettings, bearer_scheme, jwt_settings
from shared.http.body_limit import MAX_BODY_BYTES, BodyLimitMiddleware
from shared.http.correlation import CorrelationMiddleware
from shared.http.domain_errors import install_domain_error_handlers
from shared.http.idempotency import IdempotencyMiddleware, PoolGetter
from shared.http.problems import install_problem_handlers
from shared.observability.health import Check, health_router
from shared.observability.metrics import metrics_app

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
Checks = Mapping[str, Check] | Callable[[], Mapping[str, Check]]

CONSISTENCY_NOTE = (
    "\n\nReads of another service's data are eventually consistent: this service learns of"
    " changes there from their events, so a change shows here shortly after it is made."
    "\n\nErrors are RFC 9457 `application/problem+json`. A POST may carry an"
    " `Idempotency-Key`; `X-Correlation-ID` is accepted or made, and echoed."
)


class _ChecksOnDemand(Mapping[str, Check]):
    """Checks built at each probe, for what exists only once the lifespan runs (a pool)."""

    def __init__(self, build: Callable[[], Mapping[str, Check]]) -> None:
        self._build = build

    def __getitem__(self, name: str) -> Check:
        return self._build()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._build())

    def __len__(self) -> int:
        return len(self._build())


def create_app(
    *,
    service: str,
    title: str,
    version: str,
    description: str,
    routers: Sequence[APIRouter],
    lifespan: Lifespan | None = None,
    checks: Checks | None = None,
    informational: Checks | None = None,
    pool_getter: PoolGetter | None = None,
    schema: str | None = None,
    jwt: JwtSettings | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The app of `service`; with `pool_getter`, POSTs are idempotent, keyed in `schema`
    (default: the service's name), whose `migrate_idempotency` the lifespan must have run."""
    app = FastAPI(
        title=title,
        version=version,
        description=description + CONSISTENCY_NOTE,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_domain_error_handlers(app)
    if jwt is not None:
        app.dependency_overrides[jwt_settings] = lambda: jwt
    for router in routers:
        app.include_router(router)
    app.include_router(health_router(_as_mapping(checks), informational=_as_mapping(informational)))
    _serve_metrics(app)
    if pool_getter is not None:
        app.add_middleware(
            IdempotencyMiddleware,
            pool_getter=pool_getter,
            schema=schema or service,
            settings=jwt,
        )
    # added after (so around) the idempotency middleware: it bounds the bodies that one reads
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes)
    # Added last, so it runs first: idempotency replies and every problem carry the id.
    app.add_middleware(CorrelationMiddleware)
    _declare_bearer_scheme(app)
    return app


class _PlainAsgi:
    """Wraps an ASGI function so that Starlette's Route serves it as an app, not an endpoint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _serve_metrics(app: FastAPI) -> None:
    metrics = metrics_app()
    # A mount alone answers /metrics with a redirect to /metrics/; scrapers ask for the former.
    app.router.routes.append(Route("/metrics", _PlainAsgi(metrics), include_in_schema=False))
    app.mount("/metrics", metrics)


def _declare_bearer_scheme(app: FastAPI) -> None:
    """Declare the bearer scheme even before any route uses it, so /docs offers Authorize."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes.setdefault(
            bearer_scheme.scheme_name,
            bearer_scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True),
        )
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _as_mapping(checks: Checks | None) -> Mapping[str, Check]:
    if checks is None:
        return {}
    return checks if isinstance(checks, Mapping) else _ChecksOnDemand(checks)
