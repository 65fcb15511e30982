import asyncio
import contextlib
import json
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
from starlette.types import Message

from shared.domain.errors import NotYetSeen
from shared.domain.identity import Identity
from shared.http.app import create_app
from shared.http.auth import JwtSettings, current_identity, issue_token
from shared.http.idempotency import REPLAYED_HEADER
from shared.http.idempotency_keys import migrate_idempotency, purge_idempotency_keys
from shared.http.problems import Conflict, Problem
from shared.store.db import connection_of
from shared.store.event_store import EventStore
from tests.support.events import TargetSet, context

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


async def test_a_repeat_while_the_first_runs_is_a_409_and_a_later_one_replays(
    client: httpx.AsyncClient, service: Service
) -> None:
    first = asyncio.create_task(client.post("/slow", headers=headers()))
    await asyncio.wait_for(service.entered.wait(), timeout=5)

    during = await client.post("/slow", headers=headers())
    service.release.set()
    done = await first
    after = await client.post("/slow", headers=headers())

    assert (during.status_code, during.headers["Retry-After"]) == (409, "1")
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


@pytest.mark.parametrize("key", ["key-1", None], ids=["with a key", "without"])
async def test_a_body_over_the_service_limit_is_a_413_with_a_key_or_without(
    pool: asyncpg.Pool, schema: str, service: Service, key: str | None
) -> None:
    app = create_app(
        service=schema, title="test", version="0", description="test",
        routers=[service.router()], pool_getter=lambda: pool, jwt=SETTINGS, max_body_bytes=4096,
    )  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    fits = json.dumps({"year": 2026, "padding": "x" * 4000}).encode()
    over = json.dumps({"year": 2026, "padding": "x" * 4100}).encode()
    json_type = {"content-type": "application/json"}

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        taken = await client.post("/skps", content=fits, headers={**headers(key), **json_type})
        refused = await client.post("/skps", content=over, headers={**headers(key), **json_type})

    assert (taken.status_code, refused.status_code) == (201, 413)
    assert "4096 bytes" in refused.json()["detail"]
    assert service.calls["skps"] == 1


@pytest.mark.parametrize(
    ("state", "age"),
    [("done", timedelta(hours=25)), ("in_progress", timedelta(0))],
    ids=["expired", "left in progress by an older version"],
)
async def test_an_expired_answer_or_a_claim_of_old_lets_the_key_run_again(
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


# The request's events, its key and its answer commit in one transaction.


class Recorder:
    """Routes that append to a real event store in the idempotency schema, then end in
    various ways; `ends` says how the next request ends."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.store = EventStore(pool, schema)
        self.pool = pool
        self.ends: list[str] = []
        self.runs = 0

    def router(self) -> APIRouter:
        router = APIRouter()
        Caller = Annotated[Identity, Depends(current_identity)]

        @router.post("/progress", status_code=201)
        async def record(identity: Caller) -> dict[str, Any]:
            self.runs += 1
            stream = f"progress-{uuid.uuid4().hex}"
            event = TargetSet(indicator="i-1", target=self.runs)
            await self.store.append(stream, 0, [event], subject=NIP, context=context())
            end = self.ends.pop(0) if self.ends else "answer"
            if end == "crash":
                raise RuntimeError("the process failed after the append")
            if end == "unavailable":
                raise Unavailable("a dependency is away")
            if end == "a statement failed":  # and the route answers all the same
                async with connection_of(self.pool) as held:
                    with contextlib.suppress(asyncpg.UndefinedTableError):
                        await held.execute("SELECT FROM no_such_table")
            if end == "connection lost":
                async with connection_of(self.pool) as held:
                    backend = await held.fetchval("SELECT pg_backend_pid()")
                await self.pool.execute("SELECT pg_terminate_backend($1)", backend)
            return {"stream": stream, "run": self.runs}

        return router


@pytest.fixture
async def recorder(pool: asyncpg.Pool, schema: str) -> Recorder:
    recorder = Recorder(pool, schema)
    await recorder.store.migrate()
    return recorder


@pytest.fixture
async def recording(
    pool: asyncpg.Pool, schema: str, recorder: Recorder
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        service=schema, title="test", version="0", description="test",
        routers=[recorder.router()], pool_getter=lambda: pool, jwt=SETTINGS,
    )  # fmt: skip
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def events_in(pool: asyncpg.Pool, schema: str) -> list[int]:
    rows = await pool.fetch(f'SELECT payload FROM "{schema}".events ORDER BY position')
    return [json.loads(row["payload"])["target"] for row in rows]


@pytest.mark.parametrize(
    ("end", "status"),
    [("crash", 500), ("unavailable", 503), ("connection lost", 503), ("a statement failed", 503)],
    ids=[
        "a crash after the append",
        "a 503 after it",
        "the connection lost before the commit",
        "a success after a failed statement undid the transaction",
    ],
)
async def test_a_request_failing_after_its_append_leaves_no_event_and_its_retry_records_once(
    recording: httpx.AsyncClient,
    recorder: Recorder,
    pool: asyncpg.Pool,
    schema: str,
    end: str,
    status: int,
) -> None:
    recorder.ends = [end]

    failed = await recording.post("/progress", headers=headers())
    retried = await recording.post("/progress", headers=headers())
    again = await recording.post("/progress", headers=headers())

    assert failed.status_code == status
    if end in ("connection lost", "a statement failed"):  # nothing could be committed
        assert failed.headers["Retry-After"] == "2"
    assert (retried.status_code, again.status_code) == (201, 201)
    assert again.json() == retried.json() == {"stream": retried.json()["stream"], "run": 2}
    assert again.headers[REPLAYED_HEADER] == "true"
    # the first run's event went with its transaction; the retry's is there once
    assert await events_in(pool, schema) == [2]
    assert await stored_keys(pool, schema) == ["key-1"]


async def test_the_answer_is_sent_only_once_its_events_and_key_are_committed(
    recording: httpx.AsyncClient, recorder: Recorder, pool: asyncpg.Pool, schema: str
) -> None:
    answered = await recording.post("/progress", headers=headers())

    # committed, and visible to everyone else, by the time the caller has the answer
    stream = answered.json()["stream"]
    assert [e.stream_id for e in await EventStore(pool, schema).read_stream(stream)] == [stream]
    assert await stored_keys(pool, schema) == ["key-1"]


async def test_without_a_key_the_append_commits_alone_as_before(
    recording: httpx.AsyncClient, recorder: Recorder, pool: asyncpg.Pool, schema: str
) -> None:
    recorder.ends = ["crash"]

    failed = await recording.post("/progress", headers=headers(key=None))

    assert failed.status_code == 500
    assert await events_in(pool, schema) == [1]
    assert await stored_keys(pool, schema) == []


async def test_a_database_away_is_a_503_with_retry_after_never_a_500(
    pool: asyncpg.Pool, schema: str
) -> None:
    router = APIRouter()

    @router.post("/refused")
    async def refused() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 15432)")

    @router.post("/shutting-down")
    async def shutting_down() -> None:
        raise asyncpg.exceptions.AdminShutdownError("terminating connection")

    @router.post("/a-bug")
    async def a_bug() -> None:
        raise asyncpg.exceptions.UndefinedTableError('relation "nope" does not exist')

    app = create_app(
        service=schema, title="test", version="0", description="test", routers=[router],
        pool_getter=lambda: pool, jwt=SETTINGS,
    )  # fmt: skip
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = {
            path: await client.post(path, headers=headers(key=f"k{path}"))
            for path in ("/refused", "/shutting-down", "/a-bug")
        }

    assert {path: a.status_code for path, a in answers.items()} == {
        "/refused": 503, "/shutting-down": 503, "/a-bug": 500,
    }  # fmt: skip
    assert answers["/refused"].headers["Retry-After"] == "2"
    assert answers["/refused"].json()["type"] == "urn:kinerja:problem:unavailable"
    assert await stored_keys(pool, schema) == []


async def test_an_answer_committed_but_never_delivered_is_replayed_to_the_retry(
    pool: asyncpg.Pool, schema: str, recorder: Recorder
) -> None:
    app = create_app(
        service=schema, title="test", version="0", description="test",
        routers=[recorder.router()], pool_getter=lambda: pool, jwt=SETTINGS,
    )  # fmt: skip
    token = issue_token(NIP, settings=SETTINGS)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/progress", "raw_path": b"/progress", "query_string": b"",
        "root_path": "", "server": ("test", 80), "client": ("127.0.0.1", 1),
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"idempotency-key", b"k")],
    }  # fmt: skip

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def cut_off(message: Message) -> None:
        raise ConnectionResetError(104, "the caller's connection went before the answer")

    await app(scope, receive, cut_off)  # committed, then the answer could not be sent
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        retried = await client.post("/progress", headers=headers(key="k"))

    assert (retried.status_code, retried.headers[REPLAYED_HEADER]) == (201, "true")
    assert retried.json()["run"] == recorder.runs == 1
    assert await events_in(pool, schema) == [1]
