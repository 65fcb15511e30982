"""The journal as it runs beside the targets service: it learns of SKPs only from the topic,
answers 409 (retry) until it has, then records entries, refusing bad ones clearly; the same
with its relay and projections in a worker process of their own, which stops with the
service however the service ends (tests/e2e/test_journal_worker_restarts.py: and is started
again when it dies alone)."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.metrics import free_port
from tests.support.services import Running, as_, call, ready, running_services

KEPALA, ANDI, SITI = "197001011995031001", "199001012015031001", "199205152018012002"


@pytest.fixture(params=["workers-together", "workers-apart"])
def services(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    kafka_bootstrap_servers: str,
) -> Iterator[Running]:
    apart = request.param == "workers-apart"
    monkeypatch.setenv("KINERJA_JOURNAL_WORKERS_APART", "true" if apart else "false")
    with running_services(["targets", "journal"], database_url, kafka_bootstrap_servers) as running:
        yield running


async def test_entries_wait_for_the_approval_to_reach_the_journal_then_are_checked(
    services: Running, database_url: str, kafka_bootstrap_servers: str
) -> None:
    urls = services.urls
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

        async with asyncio.timeout(60):  # the read model follows the journal's own topic
            while True:
                listed = await call(
                    journal, "GET", f"/entries?nip={ANDI}&year=2026&period=Q1", KEPALA
                )
                if listed and len(listed[0]["history"]) == 2 and listed[0]["feedback"]:
                    break
                await asyncio.sleep(0.2)
        [shown] = listed
        assert (shown["entry_id"], shown["realised_value"], shown["corrections"]) == (
            entry_id,
            2,
            1,
        )
        assert [v["realised_value"] for v in shown["history"]] == [1, 2]  # the original first
        assert [f["given_by"] for f in shown["feedback"]] == [KEPALA]
        totals = await call(journal, "GET", f"/entries/totals?nip={ANDI}&year=2026", ANDI)
        assert totals == [
            {"indicator_id": entry["indicator_id"], "period": "Q1", "realised": 2.0, "entries": 1}
        ]
        assert (
            await journal.get(f"/entries?nip={ANDI}&year=2026", headers=as_(SITI))
        ).status_code == 403

        # a month-end batch: one refused item refuses the batch, naming the item; then all at once
        april = [
            {**entry, "date": f"2026-04-{day:02d}", "description": f"Hari {day}"}
            for day in (6, 7, 8)
        ]
        one_bad = [april[0], {**april[1], "realised_value": None}, april[2]]
        refused = await journal.post("/entries/batch", json={"entries": one_bad}, headers=as_(ANDI))
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["body.entries.1.realised_value"]
        batch = await journal.post("/entries/batch", json={"entries": april}, headers=as_(ANDI))
        assert batch.status_code == 201, batch.text
        assert len(batch.json()) == 3
        q2 = f"/entries?nip={ANDI}&year=2026&period=Q2"
        async with asyncio.timeout(60):
            while len(await call(journal, "GET", q2, ANDI)) < 3:
                await asyncio.sleep(0.2)
        assert len(await call(journal, "GET", q2, ANDI)) == 3  # the refused batch left nothing

        # the plan of Q2 beside what Q2 realised: the three entries of the April batch
        plans = f"/action-plans?nip={ANDI}&year=2026"
        async with asyncio.timeout(60):
            while not (listed := await call(journal, "GET", plans, KEPALA)):
                await asyncio.sleep(0.2)
        assert listed == [
            {
                "plan_id": plan["plan_id"],
                "skp_id": skp,
                "indicator_id": entry["indicator_id"],
                "period": "Q2",
                "planned_value": 2.0,
                "planned_text": None,
                "version": 1,
                "set_at": listed[0]["set_at"],
                "realised": 3.0,
                "entries": 3,
            }
        ]
        assert await call(journal, "GET", f"{plans}&period=Q1", ANDI) == []
        for who, query, status in ((SITI, "", 403), (ANDI, "&period=M05", 422)):
            answer = await journal.get(plans + query, headers=as_(who))
            assert answer.status_code == status, answer.text


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGKILL])
async def test_the_worker_process_ends_with_the_service_however_the_service_ends(
    ending: signal.Signals, database_url: str, kafka_bootstrap_servers: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KINERJA_TOPIC_NAMESPACE": f"e2e-{uuid.uuid4().hex[:8]}",
        "KINERJA_LOG_JSON": "false",
    }
    log = tmp_path / "journal.log"
    with log.open("wb") as output:
        service = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "services.journal", "--port", str(port), "--workers-apart"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            try:
                await ready(client)
            except TimeoutError:
                raise AssertionError(log.read_text()[-3000:]) from None
        [worker] = children(service.pid)
        service.send_signal(ending)
        code = await asyncio.wait_for(service.wait(), 30)
        async with asyncio.timeout(15):  # killed outright, the service leaves an orphan behind
            while alive(worker):
                await asyncio.sleep(0.1)
    finally:
        if service.returncode is None:
            service.kill()
            await service.wait()
    assert code == (0 if ending == signal.SIGTERM else -signal.SIGKILL)
    if ending == signal.SIGKILL:
        # the orphan saw its parent gone and stopped by itself, cleanly: its relay and
        # projections drained (asked by SIGTERM, the worker may not have set its handlers yet)
        said = log.read_text()
        assert "worker.orphaned" in said, said[-3000:]
        assert "worker.stopped" in said, said[-3000:]
