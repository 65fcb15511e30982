"""Liveness and readiness probes, and readiness checks for PostgreSQL and Kafka."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[None]]

CHECK_TIMEOUT_SECONDS = 2.0
# Below the route's limit, so a slow dependency reports its own error rather than a bare timeout.
DEPENDENCY_TIMEOUT_SECONDS = 1.0


def postgres_check(pool: asyncpg.Pool, timeout: float = DEPENDENCY_TIMEOUT_SECONDS) -> Check:
    """A check that a pooled connection can be had and answers `SELECT 1`."""

    async def check() -> None:
        # An exhausted pool cannot serve requests either, so waiting for one counts too.
        async with pool.acquire(timeout=timeout) as connection:
            await connection.fetchval("SELECT 1", timeout=timeout)

    return check


def kafka_check(bootstrap_servers: str, timeout: float = DEPENDENCY_TIMEOUT_SECONDS) -> Check:
    """A check that the Kafka cluster answers a metadata request and lists a broker."""

    async def check() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            client_id="kinerja-readiness",
            request_timeout_ms=int(timeout * 1000),
        )
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
        finally:
            await admin.close()
        if not cluster.get("brokers"):
            raise RuntimeError("Kafka answered but listed no broker")

    return check


# What each worker beside the API in this process is doing (a relay, a projection runner):
# "running", or waiting for a dependency and why. Shown in /readyz's body, never failing it.
_WORKERS: dict[str, str] = {}


def report_worker(name: str, state: str) -> None:
    _WORKERS[name] = state


def health_router(
    checks: Mapping[str, Check],
    is_alive: Callable[[], bool] = lambda: True,
    *,
    informational: Mapping[str, Check] | None = None,
) -> APIRouter:
    """Routes `GET /livez` and `GET /readyz`, the latter running `checks` concurrently: ready
    when each of them passes. `informational` checks (a dependency the API can serve without,
    as the broker: the relay catches up later), the process's workers and what the app puts
    in `app.state.readiness_info` (name -> a function giving JSON) are reported in the body
    only: a pod is not taken out of service for what it can do without."""
    router = APIRouter(tags=["health"])
    optional = dict(informational or {})

    @router.get("/livez")
    async def livez() -> JSONResponse:
        # Answering at all shows the event loop runs; is_alive covers what it cannot see,
        # such as a consumer task that died while the loop kept going.
        if is_alive():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "not alive"}, status_code=503)

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        names = [*checks, *(name for name in optional if name not in checks)]
        every = {**optional, **checks}
        outcomes = dict(
            zip(names, await asyncio.gather(*(_run(every[name]) for name in names)), strict=True)
        )
        ready = all(outcomes[name][0] for name in checks)
        body: dict[str, object] = {
            "status": "ready" if ready else "not ready",
            "checks": {name: text for name, (_, text) in outcomes.items()},
        }
        if _WORKERS:
            body["workers"] = dict(_WORKERS)
        info = getattr(request.app.state, "readiness_info", None) or {}
        body.update({name: describe() for name, describe in info.items()})
        return JSONResponse(body, status_code=200 if ready else 503)

    return router


async def _run(check: Check) -> tuple[bool, str]:
    """Run one check under the timeout, as (passed, "ok" or the error text)."""
    deadline = asyncio.timeout(CHECK_TIMEOUT_SECONDS)
    try:
        async with deadline:
            await check()
    except Exception as error:
        # Only our own deadline means "timed out"; a check may raise TimeoutError of its own.
        if deadline.expired():
            return False, f"timed out after {CHECK_TIMEOUT_SECONDS:g} s"
        # One failing dependency must not hide the state of the others.
        kind, detail = type(error).__name__, str(error)
        # Some errors (aiokafka's) already start with their class name; say it once.
        if not detail or detail.startswith(kind):
            return False, detail or kind
        return False, f"{kind}: {detail}"
    return True, "ok"
