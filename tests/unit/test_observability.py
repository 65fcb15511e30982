import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Scope

from shared.events.canonical import GENESIS_HASH
from shared.events.envelope import Envelope, seal_chain
from shared.observability.health import Check, health_router, report_worker
from shared.observability.logging import (
    CAUSATION_HEADER,
    CORRELATION_HEADER,
    bind_message_context,
    configure_logging,
    context_from_headers,
    current_causation_id,
    current_correlation_id,
)
from shared.observability.metrics import EVENTS_APPENDED, metrics_app
from shared.projections.projection import Projection
from shared.store.db import Connection
from tests.support.events import TargetSet


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Leave no handler pointing at a captured stdout that later tests would write to."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


async def get(app: ASGIApp, path: str) -> tuple[int, bytes]:
    """One GET straight through the ASGI interface (no HTTP client is among our dependencies)."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_every_line_is_json_with_the_service_and_the_bound_correlation_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("targets")

    with bind_message_context("corr-1", "cause-1", stream_id="target-7"):
        structlog.get_logger().info("target.drafted")
        logging.getLogger("aiokafka").warning("broker %s gone", "b1")

    ours, library = json_lines(capsys)
    assert ours["event"] == "target.drafted"
    assert library["event"] == "broker b1 gone"
    for line in (ours, library):
        assert line["service"] == "targets"
        assert line["correlation_id"] == "corr-1"
        assert line["causation_id"] == "cause-1"
        assert line["timestamp"].endswith("Z")


class Logging(Projection):
    """Logs one line per event it applies, through the default apply_all."""

    name, topics, tables = "logging", ("kinerja.test.v1",), ""

    async def apply(self, db: Connection, event: Envelope) -> None:
        structlog.get_logger().info("applied", indicator=event.payload["indicator"])


async def test_lines_logged_while_a_projection_applies_an_event_name_that_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("appraisal")
    at = datetime(2026, 11, 28, tzinfo=UTC)
    first, second = seal_chain(
        [TargetSet(indicator="a", target=1), TargetSet(indicator="b", target=2)],
        source="targets", stream_id="skp-1", after_version=0, subject="1990", occurred_at=at,
        recorded_at=at, actor="1990", correlation_id="the-command", causation_id=None,
        previous_hash=GENESIS_HASH,
    )  # fmt: skip

    with bind_message_context("the-request", None):
        await Logging().apply_all(cast(Connection, None), [first, second])
        structlog.get_logger().info("after")

    lines = json_lines(capsys)
    assert [(line["event"], line["correlation_id"]) for line in lines] == [
        ("applied", "the-command"),
        ("applied", "the-command"),
        ("after", "the-request"),
    ]
    assert [line.get("causation_id") for line in lines] == [
        str(first.event_id),
        str(second.event_id),
        None,
    ]


def test_configuring_twice_still_writes_each_line_once(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("journal")
    configure_logging("journal", level="debug")

    structlog.get_logger().debug("once")

    assert [line["event"] for line in json_lines(capsys)] == ["once"]


def score(value: int) -> int:
    if not 0 <= value <= 120:
        raise ValueError("score out of range")
    return value


def test_an_exception_is_logged_as_a_structured_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("appraisal")

    try:
        score(140)
    except ValueError:
        structlog.get_logger().exception("appraisal.failed")

    (line,) = json_lines(capsys)
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert line["exception"][0]["exc_value"] == "score out of range"


def test_binding_restores_the_enclosing_ids_afterwards() -> None:
    with bind_message_context("outer", "cause-outer"):
        with bind_message_context("inner", None):
            assert current_correlation_id() == "inner"
            assert current_causation_id() == "cause-outer"
        assert current_correlation_id() == "outer"
        assert structlog.contextvars.get_contextvars()["correlation_id"] == "outer"

    assert current_correlation_id() is None
    assert "correlation_id" not in structlog.contextvars.get_contextvars()


async def test_concurrent_tasks_each_see_their_own_correlation_id() -> None:
    both_bound = asyncio.Barrier(2)

    async def handle(correlation_id: str) -> str | None:
        with bind_message_context(correlation_id, None):
            await both_bound.wait()
            return current_correlation_id()

    assert list(await asyncio.gather(handle("a"), handle("b"))) == ["a", "b"]


def test_context_from_headers_picks_the_correlation_and_causation_headers() -> None:
    headers = [
        ("ce_type", b"kinerja.target.drafted"),
        (CORRELATION_HEADER, b"corr-9"),
        (CAUSATION_HEADER, b"evt-3"),
    ]

    assert context_from_headers(headers) == {"correlation_id": "corr-9", "causation_id": "evt-3"}
    assert context_from_headers([(CORRELATION_HEADER, b"corr-9")]) == {"correlation_id": "corr-9"}


async def passes() -> None:
    return None


async def fails() -> None:
    raise ConnectionRefusedError("kafka:9092 refused")


def app_with(checks: dict[str, Check], alive: bool = True) -> FastAPI:
    app = FastAPI()
    app.include_router(health_router(checks, is_alive=lambda: alive))
    return app


async def test_readyz_is_503_and_names_the_failing_check() -> None:
    status, body = await get(app_with({"postgres": passes, "kafka": fails}), "/readyz")

    assert status == 503
    assert json.loads(body) == {
        "status": "not ready",
        "checks": {"postgres": "ok", "kafka": "ConnectionRefusedError: kafka:9092 refused"},
    }


async def test_readyz_is_200_when_every_check_passes() -> None:
    status, body = await get(app_with({"postgres": passes, "kafka": passes}), "/readyz")

    assert status == 200
    assert json.loads(body) == {"status": "ready", "checks": {"postgres": "ok", "kafka": "ok"}}


async def test_an_informational_check_and_the_workers_show_in_the_body_but_never_fail_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shared.observability.health._WORKERS", {})
    report_worker("relay journal", "waiting 2 s for its broker or database: OSError()")
    app = FastAPI()
    app.include_router(health_router({"postgres": passes}, informational={"kafka": fails}))
    app.state.readiness_info = {"worker": lambda: {"state": "restarting", "restarts": 1}}

    status, body = await get(app, "/readyz")

    assert status == 200
    assert json.loads(body) == {
        "status": "ready",
        "checks": {"postgres": "ok", "kafka": "ConnectionRefusedError: kafka:9092 refused"},
        "workers": {"relay journal": "waiting 2 s for its broker or database: OSError()"},
        "worker": {"state": "restarting", "restarts": 1},
    }


async def test_livez_follows_is_alive() -> None:
    assert (await get(app_with({}, alive=True), "/livez"))[0] == 200
    assert (await get(app_with({}, alive=False), "/livez"))[0] == 503


async def test_metrics_app_exposes_the_kinerja_metrics() -> None:
    EVENTS_APPENDED.labels(service="targets", event_type="TargetDrafted").inc()

    status, body = await get(metrics_app(), "/metrics")

    assert status == 200
    assert b'kinerja_events_appended_total{event_type="TargetDrafted",service="targets"}' in body
    assert b"# TYPE kinerja_relay_lag_seconds gauge" in body


async def test_a_hanging_check_is_reported_as_timed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.observability.health.CHECK_TIMEOUT_SECONDS", 0.05)

    async def hangs() -> None:
        await asyncio.Event().wait()

    status, body = await get(app_with({"postgres": hangs, "kafka": passes}), "/readyz")

    assert status == 503
    assert json.loads(body)["checks"] == {"postgres": "timed out after 0.05 s", "kafka": "ok"}
