"""The journal's worker process (relay and projections) killed outright: its API's process
starts a new one after a backoff and goes on serving meanwhile, never answering 5xx; an entry
recorded while no worker ran reaches the read model once the new one has caught up."""

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.agency import ANDI, YEAR, agency_with_an_approved_skp
from tests.support.services import (
    Running,
    as_,
    call,
    journal_workers,
    once_the_journal_has_seen,
    ready,
    running_services,
    until,
)


@pytest.fixture
def services(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str, kafka_bootstrap_servers: str
) -> Iterator[Running]:
    monkeypatch.setenv("KINERJA_JOURNAL_WORKERS_APART", "true")
    monkeypatch.setenv("KINERJA_E2E_LOGS", str(tmp_path))  # the journal's log: journal.log
    with running_services(["targets", "journal"], database_url, kafka_bootstrap_servers) as running:
        yield running


async def approved_indicator(targets: httpx.AsyncClient) -> dict[str, Any]:
    """Andi's approved SKP (tests/support/agency.py) as the fields of an entry on its
    indicator."""
    skp_id, rhk_id, indicator_id = await agency_with_an_approved_skp(targets)
    return {
        "skp_id": skp_id,
        "rhk_id": rhk_id,
        "indicator_id": indicator_id,
        "realised_value": 1,
        "evidence": [],
    }


async def answers_while(
    journal: httpx.AsyncClient, done: asyncio.Event
) -> tuple[list[tuple[str, int]], list[Any]]:
    """Every answer's status of /readyz and of a read of the entries, polled until `done`,
    and what /readyz said of the worker each time."""
    seen: list[tuple[str, int]] = []
    workers: list[Any] = []
    entries = f"/entries?nip={ANDI}&year={YEAR}"
    while not done.is_set():
        readiness = await journal.get("/readyz")
        seen.append(("/readyz", readiness.status_code))
        workers.append(readiness.json().get("worker"))
        seen.append((entries, (await journal.get(entries, headers=as_(ANDI))).status_code))
        await asyncio.sleep(0.05)
    return seen, workers


async def test_a_killed_worker_is_started_again_while_the_api_serves(
    services: Running, tmp_path: Path
) -> None:
    targets = httpx.AsyncClient(base_url=services.urls["targets"], timeout=10)
    journal = httpx.AsyncClient(base_url=services.urls["journal"], timeout=10)
    async with targets, journal:
        await ready(targets)
        await ready(journal)
        fields = await approved_indicator(targets)
        before = {**fields, "date": f"{YEAR}-03-02", "description": "before the kill"}
        # 409 until the worker's projection has brought the approval to the journal
        await once_the_journal_has_seen(journal, before, ANDI)
        api = services.processes["journal"].pid
        [worker] = journal_workers(api)

        done = asyncio.Event()
        polling = asyncio.create_task(answers_while(journal, done))
        os.kill(worker, signal.SIGKILL)
        after = {**fields, "date": f"{YEAR}-03-03", "description": "after the kill"}
        # recorded by the API while no worker runs (its backoff is a second at least)
        recorded = await journal.post("/entries", json=after, headers=as_(ANDI))
        assert recorded.status_code == 201, recorded.text
        assert journal_workers(api) == []

        [new_worker] = await until(
            lambda: asyncio.sleep(0, journal_workers(api)), lambda found: len(found) == 1, 30
        )
        listed = await until(
            lambda: call(journal, "GET", f"/entries?nip={ANDI}&year={YEAR}", ANDI),
            lambda entries: "after the kill" in [e["description"] for e in entries or []],
            60,
        )
        done.set()
        answers, workers = await polling
        metrics = (await journal.get("/metrics")).text
        worker_now = (await journal.get("/readyz")).json()["worker"]

    assert new_worker != worker
    assert [e["entry_id"] for e in listed if e["description"] == "after the kill"] == [
        recorded.json()["entry_id"]
    ]
    assert len(answers) > 10
    assert [(path, status) for path, status in answers if status != 200] == []
    # readiness held (entries are recorded meanwhile); its body said what the worker did
    assert "restarting" in [worker["state"] for worker in workers], workers
    assert {k: worker_now[k] for k in ("state", "pid", "restarts", "last_exit_code")} == {
        "state": "running",
        "pid": new_worker,
        "restarts": 1,
        "last_exit_code": -signal.SIGKILL,
    }
    assert "kinerja_journal_worker_restarts_total 1.0" in metrics
    assert "kinerja_journal_worker_up 1.0" in metrics
    log = (tmp_path / "journal.log").read_text().splitlines()
    lines = [json.loads(line) for line in log if line.startswith("{")]
    [restarting] = [line for line in lines if line.get("event") == "worker.restarting"]
    assert (restarting["exit_code"], restarting["delay"]) == (-signal.SIGKILL, 1.0)
