"""The targets service as it runs: a real process with its relay, on the real broker and
database; what it records reaches kinerja.targets.v1 as CloudEvents keyed by NIP."""

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from shared.events.envelope import Envelope
from shared.http.auth import issue_token
from tests.support.kafka import read_topic
from tests.support.services import Running, call, ready, running_services

ANDI, KEPALA = "199001012015031001", "197001011995031001"


@pytest.fixture
def targets(database_url: str, kafka_bootstrap_servers: str) -> Iterator[Running]:
    with running_services(["targets"], database_url, kafka_bootstrap_servers) as running:
        yield running


async def test_each_recorded_change_reaches_the_topic_as_a_cloudevent(
    targets: Running, kafka_bootstrap_servers: str
) -> None:
    run = f"e2e-{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {issue_token('admin:e2e')}", "X-Correlation-ID": run}
    async with httpx.AsyncClient(base_url=targets.urls["targets"], timeout=10) as client:
        await ready(client)
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

    seen = await read_topic(kafka_bootstrap_servers, targets.topic("targets"), until=all_arrived)
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


async def test_the_board_and_the_cascade_follow_from_the_events(targets: Running) -> None:
    siti = "199205152018012002"
    async with httpx.AsyncClient(base_url=targets.urls["targets"], timeout=10) as client:
        await ready(client)
        await call(client, "POST", "/units", "admin:e2e", {"code": "BIRO", "name": "Biro SDM"})
        for nip, job in ((KEPALA, "JPT"), (ANDI, "FUNGSIONAL"), (siti, "FUNGSIONAL")):
            body = {
                "nip": nip,
                "name": nip[-3:],
                "position": "Jabatan",
                "unit_code": "BIRO",
                "job_type": job,
            }
            await call(client, "POST", "/employees", "admin:e2e", body)
        for nip in (ANDI, siti):
            body = {"supervisor_nip": KEPALA, "effective_from": "2026-01-01"}
            await call(client, "PUT", f"/employees/{nip}/supervisor", "admin:e2e", body)
        await call(client, "POST", "/years", "admin:e2e", {"year": 2026, "frequency": "QUARTERLY"})
        kepala_skp = (
            await call(
                client,
                "POST",
                "/skps",
                KEPALA,
                {"nip": KEPALA, "year": 2026, "approach": "KUANTITATIF"},
            )
        )["skp_id"]
        target = {
            "aspect": "KUANTITAS",
            "text": "Indeks",
            "target_value": 80,
            "target_unit": "poin",
        }
        supported = await call(
            client,
            "POST",
            f"/skps/{kepala_skp}/rhk",
            KEPALA,
            {
                "text": "Meningkatnya indeks SDM",
                "kind": "UTAMA",
                "perspective": "PENERIMA_LAYANAN",
                "indicators": [target],
            },
        )
        alone = await call(
            client,
            "POST",
            f"/skps/{kepala_skp}/rhk",
            KEPALA,
            {
                "text": "Tertatanya arsip",
                "kind": "UTAMA",
                "perspective": "PROSES_BISNIS",
                "indicators": [target],
            },
        )
        andi_skp = (
            await call(
                client,
                "POST",
                "/skps",
                ANDI,
                {"nip": ANDI, "year": 2026, "approach": "KUANTITATIF"},
            )
        )["skp_id"]
        await call(
            client,
            "POST",
            f"/skps/{andi_skp}/rhk",
            ANDI,
            {
                "text": "Terdatanya pegawai",
                "kind": "UTAMA",
                "parent_rhk_id": supported["rhk_id"],
                "indicators": [target],
            },
        )
        await call(client, "POST", f"/skps/{andi_skp}/submit", ANDI)

        expected = {"NO_SKP": 1, "DRAFT": 1, "SUBMITTED": 1, "APPROVED": 0}
        async with asyncio.timeout(60):  # the read model follows the topic
            while True:
                board = await call(client, "GET", "/units/BIRO/board?year=2026", "admin:e2e")
                if board["counts"] == expected:
                    break
                await asyncio.sleep(0.2)
        cascade = await call(client, "GET", "/units/BIRO/cascade?year=2026", "admin:e2e")
        await call(client, "POST", f"/skps/{andi_skp}/approve", KEPALA)
        revision = await call(client, "POST", f"/skps/{andi_skp}/revisions", ANDI)
        async with asyncio.timeout(60):  # the approved version stays readable after a revision
            while not (versions := await call(client, "GET", f"/skps/{andi_skp}/versions", ANDI)):
                await asyncio.sleep(0.2)

    assert board["without_skp"] == [siti]
    assert board["waiting_for_approval"] == [
        {"nip": ANDI, "skp_id": andi_skp, "pejabat_penilai": KEPALA}
    ]
    [top_supported] = [n for n in cascade["tree"] if n["rhk_id"] == supported["rhk_id"]]
    assert [n["nip"] for n in top_supported["supported_by"]] == [ANDI]
    assert [(v["skp_version"], v["approved_by"]) for v in versions] == [(1, KEPALA)]
    assert [r["text"] for r in versions[0]["document"]["rhk"]] == ["Terdatanya pegawai"]
    assert revision["version"] == 5  # drafted, RHK added, submitted, approved, revision opened
    assert cascade["unsupported"] == [
        {"rhk_id": alone["rhk_id"], "nip": KEPALA, "text": "Tertatanya arsip"}
    ]
