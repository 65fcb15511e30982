"""The journal as it runs beside the targets service: it learns of SKPs only from the topic,
answers 409 (retry) until it has, then records entries, refusing bad ones clearly."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from shared.http.auth import issue_token
from tests.support.metrics import free_port

KEPALA, ANDI, SITI = "197001011995031001", "199001012015031001", "199205152018012002"


@pytest.fixture
def urls(database_url: str, kafka_bootstrap_servers: str) -> Iterator[dict[str, str]]:
    asyncio.run(_drop_schemas(database_url))
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KINERJA_TOPIC_PARTITIONS": "3",
        "KINERJA_TOPIC_NAMESPACE": namespace,
    }
    ports = {"targets": free_port(), "journal": free_port()}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", f"services.{name}", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, port in ports.items()
    ]
    try:
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=30) for p in processes] == [0, 0]


async def _drop_schemas(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    await connection.execute(
        "DROP SCHEMA IF EXISTS targets, journal, proj_targets_board, proj_journal_targets CASCADE"
    )
    await connection.close()


def as_(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(subject)}"}


async def call(
    client: httpx.AsyncClient, method: str, path: str, who: str, body: Any = None
) -> Any:
    response = await client.request(method, path, json=body, headers=as_(who))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def ready(client: httpx.AsyncClient) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def test_entries_wait_for_the_approval_to_reach_the_journal_then_are_checked(
    urls: dict[str, str],
) -> None:
    targets = httpx.AsyncClient(base_url=urls["targets"], timeout=10)
    journal = httpx.AsyncClient(base_url=urls["journal"], timeout=10)
    async with targets, journal:
        await ready(targets)
        await ready(journal)
        await call(targets, "POST", "/units", "admin:e2e", {"code": "BIRO", "name": "Biro"})
        for nip, job in ((KEPALA, "JPT"), (ANDI, "FUNGSIONAL"), (SITI, "FUNGSIONAL")):
            body = {"nip": nip, "name": "P", "position": "J", "unit_code": "BIRO", "job_type": job}
            await call(targets, "POST", "/employees", "admin:e2e", body)
        for nip in (ANDI, SITI):
            body = {"supervisor_nip": KEPALA, "effective_from": "2026-01-01"}
            await call(targets, "PUT", f"/employees/{nip}/supervisor", "admin:e2e", body)
        await call(targets, "POST", "/years", "admin:e2e", {"year": 2026, "frequency": "QUARTERLY"})
        skp = (
            await call(
                targets,
                "POST",
                "/skps",
                ANDI,
                {"nip": ANDI, "year": 2026, "approach": "KUANTITATIF"},
            )
        )["skp_id"]
        target = {
            "aspect": "KUANTITAS",
            "text": "Laporan",
            "target_value": 4,
            "target_unit": "laporan",
        }
        rhk = await call(
            targets,
            "POST",
            f"/skps/{skp}/rhk",
            ANDI,
            {"text": "Tersusunnya laporan", "kind": "UTAMA", "indicators": [target]},
        )
        entry = {
            "skp_id": skp,
            "rhk_id": rhk["rhk_id"],
            "indicator_id": rhk["indicator_ids"][0],
            "date": "2026-03-20",
            "description": "Laporan Maret",
            "realised_value": 1,
            "evidence": [
                {"uri": "s3://bkd/maret.pdf", "sha256": "ab" * 32, "media_type": "application/pdf"}
            ],
        }

        early = await journal.post("/entries", json=entry, headers=as_(ANDI))
        assert early.status_code == 409, early.text  # not approved, or not seen at all yet

        await call(targets, "POST", f"/skps/{skp}/submit", ANDI)
        await call(targets, "POST", f"/skps/{skp}/approve", KEPALA)
        async with asyncio.timeout(60):  # a client retrying as the 409 says
            while (
                recorded := await journal.post("/entries", json=entry, headers=as_(ANDI))
            ).status_code == 409:
                await asyncio.sleep(0.2)
        assert recorded.status_code == 201, recorded.text
        entry_id = recorded.json()["entry_id"]

        refusals = [
            (SITI, entry, 403, None),
            (ANDI, {**entry, "date": "2027-01-05"}, 422, "body.date"),
            (ANDI, {**entry, "indicator_id": "not-in-the-skp"}, 422, "body.indicator_id"),
            (ANDI, {**entry, "realised_value": None}, 422, "body.realised_value"),
            (
                ANDI,
                {**entry, "evidence": [{"uri": "s3://x", "sha256": "abc"}]},
                422,
                "body.evidence.0.sha256",
            ),
        ]
        for who, body, status, field in refusals:
            answer = await journal.post("/entries", json=body, headers=as_(who))
            assert answer.status_code == status, (body, answer.text)
            if field:
                assert field in [e["field"] for e in answer.json()["errors"]], answer.json()

        assert (
            await journal.post(
                f"/entries/{entry_id}/feedback", json={"text": "Oke"}, headers=as_(SITI)
            )
        ).status_code == 403
        await call(journal, "POST", f"/entries/{entry_id}/feedback", KEPALA, {"text": "Bagus"})
        corrected = await call(
            journal,
            "POST",
            f"/entries/{entry_id}/corrections",
            ANDI,
            {**{k: entry[k] for k in ("date", "description", "evidence")}, "realised_value": 2},
        )
        assert corrected["version"] == 3  # recorded, feedback, correction: the original stays first
        plan = await call(
            journal,
            "POST",
            "/action-plans",
            ANDI,
            {
                "skp_id": skp,
                "indicator_id": entry["indicator_id"],
                "period": "Q2",
                "planned_value": 2,
            },
        )
        assert plan["version"] == 1
