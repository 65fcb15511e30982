"""The correlation middleware, and the app `create_app` wires it into (no database here)."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
import httpx
import pytest
import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shared.domain.identity import Identity
from shared.http.app import create_app
from shared.http.auth import JwtSettings, current_identity, issue_token
from shared.http.correlation import CORRELATION_HEADER, request_context
from shared.observability.logging import current_correlation_id

SETTINGS = JwtSettings(secret=SecretStr("a-test-secret-of-at-least-32-bytes!"))
router = APIRouter()


@router.get("/context")
async def context(identity: Annotated[Identity, Depends(current_identity)]) -> dict[str, Any]:
    command = request_context(identity)
    seen = current_correlation_id()
    return {"seen": seen, "actor": command.actor, "command": command.correlation_id}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("password=hunter2 in the connection string")


async def failing_check() -> None:
    raise ConnectionError("broker gone")


def no_pool() -> asyncpg.Pool:
    raise AssertionError("nothing here should need the pool")


def service_app(routers: tuple[APIRouter, ...] = (router,), **more: Any) -> FastAPI:
    return create_app(
        service="targets",
        title="Targets",
        version="1.0",
        description="Roster, periods and SKP.",
        routers=routers,
        jwt=SETTINGS,
        **more,
    )


@pytest.fixture
def client() -> TestClient:
    return TestClient(service_app())


def is_uuid7(text: str) -> bool:
    return uuid.UUID(text).version == 7


def test_a_given_correlation_id_is_bound_for_the_request_and_echoed(client: TestClient) -> None:
    token = issue_token("admin:budi", settings=SETTINGS)
    headers = {CORRELATION_HEADER: "req-42:retry.1", "Authorization": f"Bearer {token}"}

    response = client.get("/context", headers=headers)

    assert response.headers[CORRELATION_HEADER] == "req-42:retry.1"
    assert response.json() == {
        "seen": "req-42:retry.1",
        "actor": "admin:budi",
        "command": "req-42:retry.1",
    }


def test_without_a_correlation_id_a_uuid7_is_made(client: TestClient) -> None:
    response = client.get("/livez")

    assert is_uuid7(response.headers[CORRELATION_HEADER])


@pytest.mark.parametrize("given", ["", "has space", "semi;colon", "x" * 129, "ünïcode"])
def test_an_unacceptable_correlation_id_is_replaced_by_a_new_one(
    client: TestClient, given: str
) -> None:
    response = client.get("/livez", headers={CORRELATION_HEADER: given.encode()})

    assert is_uuid7(response.headers[CORRELATION_HEADER])


def test_each_request_logs_one_access_line_with_its_context(client: TestClient) -> None:
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        client.get("/no/such/route", headers={CORRELATION_HEADER: "c-1"})

    lines = [entry for entry in logs if entry["event"] == "http.request"]
    assert len(lines) == 1
    assert lines[0]["correlation_id"] == "c-1"
    assert (lines[0]["method"], lines[0]["path"], lines[0]["status"]) == (
        "GET",
        "/no/such/route",
        404,
    )
    assert lines[0]["duration_ms"] >= 0


async def test_the_caller_bound_for_a_request_does_not_outlive_it() -> None:
    token = issue_token("auditor:siti", settings=SETTINGS)
    # In-process transport: the app runs in this task, as a server runs it in a task per request.
    transport = httpx.ASGITransport(app=service_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/context", headers={"Authorization": f"Bearer {token}"})

    assert response.json()["actor"] == "auditor:siti"
    assert "actor" not in structlog.contextvars.get_contextvars()
    assert current_correlation_id() is None


def test_a_bug_is_a_500_problem_carrying_the_correlation_id_but_not_the_error_text(
    client: TestClient,
) -> None:
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        response = client.get("/boom", headers={CORRELATION_HEADER: "c-500"})

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers[CORRELATION_HEADER] == "c-500"
    assert response.json()["correlation_id"] == "c-500"
    assert "hunter2" not in response.text
    error = next(entry for entry in logs if entry["event"] == "http.unexpected_error")
    assert error["correlation_id"] == "c-500"


def test_the_app_serves_probes_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    # Asked as scrapers ask: at /metrics itself, with no redirect to follow.
    assert client.get("/metrics", follow_redirects=False).text.startswith("# HELP")
    assert client.get("/docs").status_code == 200


def test_readiness_runs_checks_built_on_demand() -> None:
    client = TestClient(service_app(checks=lambda: {"kafka": failing_check}))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"kafka": "ConnectionError: broker gone"}


def test_openapi_declares_the_bearer_scheme_and_eventual_consistency(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/context"]["get"]["security"] == [{"bearer": []}]
    assert "eventually consistent" in document["info"]["description"]


def test_openapi_offers_the_bearer_scheme_before_any_route_asks_for_it() -> None:
    document = TestClient(service_app(routers=())).get("/openapi.json").json()

    assert document["components"]["securitySchemes"]["bearer"]["bearerFormat"] == "JWT"


def test_an_app_with_idempotency_starts_and_answers_reads_without_the_pool() -> None:
    started: list[bool] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        started.append(True)
        yield

    with TestClient(service_app(lifespan=lifespan, pool_getter=no_pool)) as client:
        assert client.get("/livez").status_code == 200

    assert started == [True]
