"""The targets service as it runs: a real process with its relay, on the real broker and
database; what it records reaches kinerja.targets.v1 as CloudEvents keyed by NIP."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from shared.events.envelope import Envelope
from shared.http.auth import issue_token
from tests.support.kafka import read_topic
from tests.support.metrics import free_port

ANDI, KEPALA = "199001012015031001", "197001011995031001"


@pytest.fixture
def targets_url(database_url: str, kafka_bootstrap_servers: str) -> Iterator[str]:
    asyncio.run(_drop_schema(database_url))
    port = free_port()
    env = {
        **os.environ,
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KINERJA_TOPIC_PARTITIONS": "3",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.targets", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "the service stops cleanly on SIGTERM"


async def _drop_schema(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    await connection.execute("DROP SCHEMA IF EXISTS targets CASCADE")
    await connection.close()


async def test_each_recorded_change_reaches_the_topic_as_a_cloudevent(
    targets_url: str, kafka_bootstrap_servers: str
) -> None:
    run = f"e2e-{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {issue_token('admin:e2e')}", "X-Correlation-ID": run}
    async with httpx.AsyncClient(base_url=targets_url, timeout=10) as client:
        await _until_ready(client)
        calls = [
            ("POST", "/units", {"code": "BIRO", "name": "Biro SDM"}),
            (
                "POST",
                "/employees",
                {
                    "nip": KEPALA,
                    "name": "Kepala",
                    "position": "Kepala Biro",
                    "unit_code": "BIRO",
                    "job_type": "JPT",
                },
            ),
            (
                "POST",
                "/employees",
                {
                    "nip": ANDI,
                    "name": "Andi",
                    "position": "Analis",
                    "unit_code": "BIRO",
                    "job_type": "FUNGSIONAL",
                },
            ),
            (
                "PUT",
                f"/employees/{ANDI}/supervisor",
                {"supervisor_nip": KEPALA, "effective_from": "2026-01-01"},
            ),
            ("POST", "/years", {"year": 2026, "frequency": "QUARTERLY"}),
        ]
        for method, path, body in calls:
            response = await client.request(method, path, json=body, headers=admin)
            assert response.status_code in (200, 201), response.text

    def all_arrived(seen: list[Envelope]) -> bool:
        return len([e for e in seen if e.correlation_id == run]) >= len(calls)

    seen = await read_topic(kafka_bootstrap_servers, "kinerja.targets.v1", until=all_arrived)
    ours = [e for e in seen if e.correlation_id == run]

    assert sorted(e.event_type for e in ours) == [
        "kinerja.targets.employee-registered",
        "kinerja.targets.employee-registered",
        "kinerja.targets.performance-year-opened",
        "kinerja.targets.supervisor-assigned",
        "kinerja.targets.unit-created",
    ]
    # one pegawai's events keep their order: they share a key, so a partition
    assert [e.event_type for e in ours if e.subject == ANDI] == [
        "kinerja.targets.employee-registered",
        "kinerja.targets.supervisor-assigned",
    ]
    assert {e.source for e in ours} == {"targets"}
    assert {e.actor for e in ours} == {"admin:e2e"}
    assert all(e.is_intact() for e in ours)
    assert {e.subject for e in ours} == {"unit:BIRO", KEPALA, ANDI, "year:2026"}


async def _until_ready(client: httpx.AsyncClient) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
