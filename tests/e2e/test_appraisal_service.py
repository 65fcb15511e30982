"""Appraisal beside the real targets and journal services, each its own process on real
Kafka and PostgreSQL: a worksheet built from their events, ratings by the right pejabat
penilai only, a unit head's derived rating, the distribution curve, an appeal decided by the
atasan, the output as an outside subscriber reads it, and replay equal to the live tables."""

import asyncio
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer

from services.appraisal.entrypoints.app import projections
from tests.support.agency import (
    ANDI,
    BUDI,
    KEPALA,
    SEKDA,
    SITI,
    YEAR,
    agency_with_an_approved_skp,
    entries,
)
from tests.support.replays import replay_and_compare
from tests.support.services import (
    Running,
    as_,
    call,
    ready,
    running_services,
    seen,
    status_of,
    until,
)

SCHEMAS = Path(__file__).parents[2] / "shared" / "contracts" / "schemas"


@pytest.fixture
def services(database_url: str, kafka_bootstrap_servers: str) -> Iterator[Running]:
    with running_services(
        ["targets", "journal", "appraisal"], database_url, kafka_bootstrap_servers
    ) as running:
        yield running


async def test_a_quarter_is_worked_rated_appealed_and_published(
    services: Running, kafka_bootstrap_servers: str, pool: asyncpg.Pool
) -> None:
    clients = {
        name: httpx.AsyncClient(base_url=url, timeout=10) for name, url in services.urls.items()
    }
    targets, journal, appraisal = clients["targets"], clients["journal"], clients["appraisal"]
    for client in clients.values():
        await ready(client)
    await entries(journal, await agency_with_an_approved_skp(targets))

    sheet = await until(
        partial(seen, appraisal, f"/worksheets/{ANDI}/{YEAR}/Q1", ANDI),
        lambda s: (
            s
            and s["indicators"]
            and s["indicators"][0]["realised_value"] == 3
            and s["indicators"][0]["action_plans"]
        ),  # the plan is recorded after the entries
    )
    assert await call(appraisal, "GET", f"/worksheets/{ANDI}/{YEAR}/Q1", KEPALA) == sheet
    [line] = sheet["indicators"]
    assert (line["target_value"], line["achievement_percent"]) == (4, 75.0)
    assert [p["planned_value"] for p in line["action_plans"]] == [3]
    assert [e["realised_value"] for e in line["entries"]] == [1, 2]
    assert (
        await appraisal.get(f"/worksheets/{ANDI}/{YEAR}/Q1", headers=as_(SITI))
    ).status_code == 403

    await _ratings(appraisal)
    await _distribution(appraisal)
    await _appeal(appraisal)
    document = await call(appraisal, "GET", f"/documents/{ANDI}/{YEAR}", ANDI)
    assert document["periodic_results"]["Q1"]["predikat"] == "BAIK"
    assert document["periodic_results"]["Q2"] is None
    assert document["skp"]["rhk"][0]["indicators"][0]["target_value"] == 4
    for client in clients.values():
        await client.aclose()

    await _outside_subscriber_reads_valid_cloudevents(
        services.topic("appraisal"), kafka_bootstrap_servers
    )
    for projection in projections(services.namespace):
        live, replayed = await replay_and_compare(projection, pool, kafka_bootstrap_servers)
        assert replayed == live, projection.name


async def _ratings(appraisal: httpx.AsyncClient) -> None:
    def rating(hasil: str | None, perilaku: str) -> dict[str, Any]:
        return {"hasil_kerja": hasil, "perilaku_kerja": perilaku}

    def rate(nip: str) -> str:
        return f"/evaluations/{nip}/{YEAR}/Q1/rating"

    atas, sesuai, bawah = "DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DI_BAWAH_EKSPEKTASI"
    assert await status_of(appraisal, "POST", rate(ANDI), SITI, rating(atas, atas)) == 403
    andi = await call(appraisal, "POST", rate(ANDI), KEPALA, rating(atas, atas))
    assert (andi["predikat"], andi["version"]) == ("SANGAT_BAIK", 2)  # the rating and its output
    # Siti's pejabat penilai changed on 15 March: the one at the quarter's end rates it
    assert await status_of(appraisal, "POST", rate(SITI), KEPALA, rating(sesuai, sesuai)) == 403
    assert (await call(appraisal, "POST", rate(SITI), BUDI, rating(sesuai, sesuai)))[
        "predikat"
    ] == "BAIK"
    assert (await call(appraisal, "POST", rate(BUDI), KEPALA, rating(bawah, sesuai)))[
        "predikat"
    ] == "BUTUH_PERBAIKAN"
    unit = f"/units/BIRO/organisation-predicates/{YEAR}/Q1"
    assert await status_of(appraisal, "PUT", unit, ANDI, {"predikat": "BAIK"}) == 403
    await call(appraisal, "PUT", unit, "admin:e2e", {"predikat": "BAIK"})
    # Kepala heads BIRO: once appraisal has seen it, their Rating Hasil Kerja follows BAIK
    await until(
        lambda: status_of(appraisal, "GET", f"/units/BIRO/distribution/{YEAR}/Q1", KEPALA, None),
        lambda s: s == 200,
    )
    kepala = await call(appraisal, "POST", rate(KEPALA), SEKDA, rating(None, atas))
    assert kepala["predikat"] == "BAIK"  # SESUAI (derived from BAIK) x DI_ATAS
    assert await status_of(appraisal, "POST", rate(KEPALA), SEKDA, rating(atas, atas)) == 422


async def _distribution(appraisal: httpx.AsyncClient) -> None:
    path = f"/units/BIRO/distribution/{YEAR}/Q1"
    report = await until(
        lambda: call(appraisal, "GET", path, "auditor:bpk"), lambda r: r["rated"] == 4
    )
    assert report["counts"] == {
        "SANGAT_BAIK": 1,
        "BAIK": 2,
        "BUTUH_PERBAIKAN": 1,
        "KURANG": 0,
        "SANGAT_KURANG": 0,
    }
    assert (report["organisation_predikat"], report["holds"], report["breaches"]) == (
        "BAIK",
        True,
        [],
    )
    assert report["rules_version"]
    # Budi amended to BAIK: 3 of 4 BAIK (over 70%) and nobody BUTUH_PERBAIKAN or KURANG
    amended = {"hasil_kerja": "SESUAI_EKSPEKTASI", "perilaku_kerja": "SESUAI_EKSPEKTASI"}
    await call(appraisal, "POST", f"/evaluations/{BUDI}/{YEAR}/Q1/rating", KEPALA, amended)
    report = await until(
        lambda: call(appraisal, "GET", path, "auditor:bpk"), lambda r: not r["holds"]
    )
    assert [(b["rule"], b["actual"]) for b in report["breaches"]] == [
        ("at_most 70% BAIK", "75% (3 of 4)"),
        ("at_least 1 of BUTUH_PERBAIKAN|KURANG", "0% (0 of 4)"),
    ]
    assert await status_of(appraisal, "GET", path, ANDI, None) == 403


async def _appeal(appraisal: httpx.AsyncClient) -> None:
    path = f"/evaluations/{ANDI}/{YEAR}/Q1"
    # the rating was given today, so today is inside the 14 days
    await call(appraisal, "POST", f"{path}/appeal", ANDI, {"reason": "Laporan Maret terlewat"})
    changed = {
        "outcome": "CHANGED",
        "hasil_kerja": "SESUAI_EKSPEKTASI",
        "perilaku_kerja": "DI_ATAS_EKSPEKTASI",
        "note": "Dua laporan, bukan tiga",
    }
    assert await status_of(appraisal, "POST", f"{path}/appeal/decision", KEPALA, changed) == 403
    decided = await call(appraisal, "POST", f"{path}/appeal/decision", SEKDA, changed)
    assert decided["predikat"] == "BAIK"
    assert await status_of(appraisal, "POST", f"{path}/appeal", ANDI, {"reason": "Lagi"}) == 409
    evaluation = await call(appraisal, "GET", path, ANDI)
    assert (evaluation["predikat"], evaluation["appeal"]["state"]) == ("BAIK", "CHANGED")
    assert [h["type"].rsplit(".", 1)[1] for h in evaluation["history"]] == [
        "rating-given",
        "predikat-determined",
        "appeal-filed",
        "appeal-decided",
        "predikat-determined",
    ]


async def _outside_subscriber_reads_valid_cloudevents(topic: str, bootstrap_servers: str) -> None:
    """A plain aiokafka consumer, nothing of ours: CloudEvents headers, a JSON body valid
    against the exported schema of its `ce_type`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest", group_id=None
    )
    seen: list[str] = []
    await consumer.start()
    try:
        async with asyncio.timeout(60):
            while (
                seen.count("kinerja.appraisal.predikat-determined.v1") < 6
                or "kinerja.appraisal.distribution-judged.v1" not in seen
            ):
                batches = await consumer.getmany(timeout_ms=1000)
                for record in (r for records in batches.values() for r in records):
                    headers = {k: v.decode() for k, v in record.headers}
                    assert headers["ce_specversion"] == "1.0"
                    assert headers["content-type"] == "application/json"
                    schema = json.loads((SCHEMAS / f"{headers['ce_type']}.json").read_text())
                    jsonschema.validate(json.loads(record.value), schema)
                    seen.append(headers["ce_type"])
    finally:
        await consumer.stop()
