import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, Depends
from pydantic import BaseModel, SecretStr

from shared.domain.errors import NotYetSeen
from shared.domain.identity import Identity
from shared.http.app import create_app
from shared.http.auth import JwtSettings, current_identity, issue_token
from shared.http.idempotency import REPLAYED_HEADER
from shared.http.idempotency_keys import (
    IdempotencyKeys,
    migrate_idempotency,
    purge_idempotency_keys,
)
from shared.http.problems import Conflict, Problem
from shared.store.event_store import EventStore

SETTINGS = JwtSettings(secret=SecretStr("a-test-secret-of-at-least-32-bytes!"))
NIP = "199001012015031001"
OTHER_NIP = "198505052010012002"
SKP = {"year": 2026}
KEY_HEADER = "Idempotency-Key"


class Unavailable(Problem):
    status = 503


class NewSkp(BaseModel):
    year: int


class Service:
    """A stand-in for a service's routes, counting how often each one really ran."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    def router(self) -> APIRouter:
        router = APIRouter()
        Caller = Annotated[Identity, Depends(current_identity)]

        @router.post("/skps", status_code=201)
        async def open_skp(body: NewSkp, identity: Caller) -> dict[str, Any]:
            self.calls["skps"] += 1
            return {"skp_id": str(uuid.uuid4()), "year": body.year, "version": 1}

        @router.post("/skps/{skp_id}/submit")
        async def submit(skp_id: str, identity: Caller) -> None:
            self.calls["submit"] += 1
            raise Conflict(f"SKP {skp_id} is not a draft")

        @router.post("/flaky")
        async def flaky(identity: Caller) -> dict[str, str]:
            self.calls["flaky"] += 1
            if self.calls["flaky"] == 1:
                raise RuntimeError("the database went away")
            return {"ok": "second time"}

        @router.post("/busy")
        async def busy(identity: Caller) -> dict[str, str]:
            self.calls["busy"] += 1
            if self.calls["busy"] == 1:
                raise Unavailable("too busy, try again")
            return {"ok": "second time"}

        @router.post("/not-yet")
        async def not_yet(identity: Caller) -> dict[str, str]:
            self.calls["not-yet"] += 1
            if self.calls["not-yet"] == 1:
                raise NotYetSeen("the journal has not seen SKP s-1")
            return {"ok": "second time"}

        @router.post("/slow")
        async def slow(identity: Caller) -> dict[str, str]:
            self.calls["slow"] += 1
            self.entered.set()
            await self.release.wait()
            return {"ok": "slow"}

        return router


@pytest.fixture
async def schema(pool: asyncpg.Pool) -> str:
    name = f"idem_{uuid.uuid4().hex[:10]}"
    async with pool.acquire() as connection:
        await migrate_idempotency(connection, name)
    return name


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
async def client(
    pool: asyncpg.Pool, schema: str, service: Service
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        service=schema,
        title="test",
        version="0",
        description="test",
        routers=[service.router()],
        pool_getter=lambda: pool,
        jwt=SETTINGS,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def headers(key: str | None = "key-1", subject: str = NIP) -> dict[str, str]:
    given = {"Authorization": f"Bearer {issue_token(subject, settings=SETTINGS)}"}
    return given if key is None else {**given, "Idempotency-Key": key}


async def stored_keys(pool: asyncpg.Pool, schema: str) -> list[str]:
    rows = await pool.fetch(f'SELECT key FROM "{schema}".idempotency_keys ORDER BY key')
    return [row["key"] for row in rows]


async def test_a_retry_with_the_same_key_and_body_replays_the_first_answer(
    client: httpx.AsyncClient, service: Service
) -> None:
    first = await client.post("/skps", json=SKP, headers=headers())
    retry = await client.post("/skps", json=SKP, headers=headers())

    assert first.status_code == retry.status_code == 201
    assert (retry.json(), retry.headers["content-type"]) == (
        first.json(),
        first.headers["content-type"],
    )
    assert (first.headers.get(REPLAYED_HEADER), retry.headers[REPLAYED_HEADER]) == (None, "true")
    assert service.calls["skps"] == 1


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [("/skps", {"year": 2027}, "another body"), ("/skps/s-1/submit", None, "POST /skps")],
    ids=["other body", "other path"],
)
async def test_the_same_key_on_another_request_is_a_409(
    client: httpx.AsyncClient, service: Service, path: str, body: Any, reason: str
) -> None:
    await client.post("/skps", json=SKP, headers=headers())
    other = await client.post(path, json=body, headers=headers())

    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "urn:kinerja:problem:idempotency-key-reused"
    assert reason in other.json()["detail"]
    assert sum(service.calls.values()) == 1


async def test_another_caller_may_use_the_same_key(
    client: httpx.AsyncClient, service: Service
) -> None:
    mine = await client.post("/skps", json=SKP, headers=headers())
    theirs = await client.post("/skps", json=SKP, headers=headers(subject=OTHER_NIP))

    assert theirs.status_code == 201
    assert theirs.json()["skp_id"] != mine.json()["skp_id"]
    assert service.calls["skps"] == 2


async def test_a_client_error_is_an_answer_and_is_replayed(
    client: httpx.AsyncClient, service: Service
) -> None:
    first = await client.post("/skps/s-1/submit", headers=headers())
    retry = await client.post("/skps/s-1/submit", headers=headers())

    assert first.status_code == retry.status_code == 409
    assert retry.json() == first.json()
    assert retry.headers[REPLAYED_HEADER] == "true"
    assert service.calls["submit"] == 1


@pytest.mark.parametrize(
    ("path", "status"), [("/flaky", 500), ("/busy", 503), ("/not-yet", 409)],
    ids=["server error", "unavailable", "409 saying retry (Retry-After)"],
)  # fmt: skip
async def test_a_server_error_stores_nothing_so_the_retry_runs_again(
    client: httpx.AsyncClient,
    service: Service,
    pool: asyncpg.Pool,
    schema: str,
    path: str,
    status: int,
) -> None:
    failed = await client.post(path, headers=headers())
    assert failed.status_code == status
    assert await stored_keys(pool, schema) == []

    retry = await client.post(path, headers=headers())

    assert (retry.status_code, retry.headers.get(REPLAYED_HEADER)) == (200, None)
    assert sum(service.calls.values()) == 2


async def test_a_key_released_between_claim_and_read_asks_for_a_retry(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.post("/skps", json=SKP, headers=headers())

    async def released(*_: object) -> None:
        return None  # as if the first run failed and released the key in that instant

    monkeypatch.setattr(IdempotencyKeys, "find", released)
    response = await client.post("/skps", json=SKP, headers=headers())

    assert response.status_code == 409
    assert "retry" in response.json()["detail"]


async def test_a_repeat_while_the_first_runs_is_a_409_and_a_later_one_replays(
    client: httpx.AsyncClient, service: Service
) -> None:
    first = asyncio.create_task(client.post("/slow", headers=headers()))
    await asyncio.wait_for(service.entered.wait(), timeout=5)

    during = await client.post("/slow", headers=headers())
    service.release.set()
    done = await first
    after = await client.post("/slow", headers=headers())

    assert during.status_code == 409
    assert during.json()["type"] == "urn:kinerja:problem:idempotency-key-in-progress"
    assert done.status_code == after.status_code == 200
    assert after.headers[REPLAYED_HEADER] == "true"
    assert service.calls["slow"] == 1


async def test_concurrent_requests_with_one_key_run_the_route_once(
    client: httpx.AsyncClient, service: Service
) -> None:
    answers = await asyncio.gather(
        *(client.post("/skps", json=SKP, headers=headers()) for _ in range(8))
    )

    assert service.calls["skps"] == 1
    ran = [a for a in answers if a.status_code == 201 and REPLAYED_HEADER not in a.headers]
    assert len(ran) == 1
    for answer in answers:
        replayed = answer.status_code == 201 and answer.json() == ran[0].json()
        assert replayed or answer.json()["type"].endswith("idempotency-key-in-progress")


@pytest.mark.parametrize(
    ("given", "status", "runs"),
    [(headers(key=None), 201, 2), ({"Authorization": "Bearer forged", KEY_HEADER: "k"}, 401, 0)],
    ids=["no key", "bad token"],
)
async def test_without_a_key_or_a_verified_caller_nothing_is_stored(
    client: httpx.AsyncClient,
    service: Service,
    pool: asyncpg.Pool,
    schema: str,
    given: dict[str, str],
    status: int,
    runs: int,
) -> None:
    answers = [await client.post("/skps", json=SKP, headers=given) for _ in range(2)]

    assert [answer.status_code for answer in answers] == [status, status]
    assert service.calls["skps"] == runs
    assert await stored_keys(pool, schema) == []


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\there"])
async def test_a_key_of_the_wrong_form_is_a_422(
    client: httpx.AsyncClient, service: Service, key: str
) -> None:
    response = await client.post("/skps", json=SKP, headers=headers(key=key))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert service.calls["skps"] == 0


async def test_a_body_over_the_cap_is_a_413(client: httpx.AsyncClient, service: Service) -> None:
    body = b'{"year": 2026, "padding": "' + b"x" * (1024 * 1024) + b'"}'
    json_type = {"content-type": "application/json"}

    response = await client.post("/skps", content=body, headers={**headers(), **json_type})

    assert response.status_code == 413
    assert service.calls["skps"] == 0


@pytest.mark.parametrize(
    ("state", "age"),
    [("done", timedelta(hours=25)), ("in_progress", timedelta(minutes=10))],
    ids=["expired", "abandoned"],
)
async def test_an_expired_answer_or_an_abandoned_claim_lets_the_key_run_again(
    client: httpx.AsyncClient,
    service: Service,
    pool: asyncpg.Pool,
    schema: str,
    state: str,
    age: timedelta,
) -> None:
    await client.post("/skps", json=SKP, headers=headers())
    table = f'"{schema}".idempotency_keys'
    await pool.execute(
        f"UPDATE {table} SET state = $1, created_at = now() - $2::interval", state, age
    )

    again = await client.post("/skps", json=SKP, headers=headers())

    assert (again.status_code, again.headers.get(REPLAYED_HEADER)) == (201, None)
    assert service.calls["skps"] == 2


async def test_purge_deletes_answers_older_than_a_day(
    client: httpx.AsyncClient, pool: asyncpg.Pool, schema: str
) -> None:
    for key in ("old", "new"):
        await client.post("/skps", json=SKP, headers=headers(key=key))
    table = f'"{schema}".idempotency_keys'
    await pool.execute(f"UPDATE {table} SET created_at = now() - interval '25 h' WHERE key = 'old'")

    async with pool.acquire() as connection:
        purged = await purge_idempotency_keys(connection, schema)

    assert (purged, await stored_keys(pool, schema)) == (1, ["new"])


async def test_the_migration_shares_a_schema_with_the_event_store(pool: asyncpg.Pool) -> None:
    store = EventStore(pool, f"svc_{uuid.uuid4().hex[:10]}")
    await store.migrate()
    async with pool.acquire() as connection:
        applied = await migrate_idempotency(connection, store.service)
        again = await migrate_idempotency(connection, store.service)
    await store.migrate()

    versions = await pool.fetch(f"SELECT version FROM {store.schema}.schema_migrations")
    assert (applied, again) == (1, 0)
    assert sorted(row["version"] for row in versions) == [1, 500]
