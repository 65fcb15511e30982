"""The journal's month-end path: entries per second from `POST /entries/batch` to the
journal's read model, with the targets and journal services running as processes on this
machine beside Kafka and PostgreSQL (the issue's goal: 5,000 entries/s), and where the CPU
went per entry. Twice: the journal as one process, and with its relay and projections in a
worker process of their own (`--workers-apart`)."""

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from tests.bench.cpu_split import CpuSplit, service_pid
from tests.bench.environment import Bench, log
from tests.bench.results import Case, Check, Suite
from tests.support.services import as_, call, ready, running_services

PEGAWAI = 50
BATCH = 1_000
CLIENTS = 4
GOAL = 5_000.0
KEPALA = "197001011995031001"


def nip(n: int) -> str:
    return f"19900101201503{1 + n // 999:01d}{1 + n % 999:03d}"


# case key, how the journal runs, how it is started
LAYOUTS = [
    ("journal_batch", "one process", "journal --no-workers-apart"),
    ("journal_batch_apart", "relay and projections in a worker process", "journal --workers-apart"),
]


def run(bench: Bench) -> Suite:
    suite = Suite("journal")
    for key, layout, journal in LAYOUTS:
        try:
            services = ["targets", journal]
            with running_services(services, bench.database_url, bench.kafka) as svc:
                rate, seconds, cpu = asyncio.run(_measure(svc.urls, bench))
        except Exception as error:
            suite.fail(f"journal batch, {layout}", error)
            continue
        name = f"POST /entries/batch ({BATCH}/request, {CLIENTS} clients) to read model, {layout}"
        suite.cases.append(
            Case(key, name, bench.journal_entries, seconds, rate, "entries/s", extra=cpu)
        )
        suite.checks.append(
            Check(
                f"journal batch path, request to read model, {layout}",
                rate,
                f">= {GOAL:,.0f} entries/s",
                rate >= GOAL,
            )
        )
    suite.notes.append(
        f"{PEGAWAI} pegawai with approved SKPs, batches of {BATCH} entries, {CLIENTS} concurrent "
        "clients; timed from the first request until the read model counts every entry"
    )
    suite.notes.append(
        "µs columns: CPU µs per entry over the timed window, from /proc: the journal's process, "
        "its worker process, the targets service, this database's PostgreSQL backends, the "
        "local stack's Kafka broker, the benchmark's clients, and the rest of the machine "
        "(other work, WAL writer, checkpointer); busy %: of all the machine's cores"
    )
    return suite


async def _measure(urls: dict[str, str], bench: Bench) -> tuple[float, float, dict[str, float]]:
    async with (
        httpx.AsyncClient(base_url=urls["targets"], timeout=60) as targets,
        httpx.AsyncClient(base_url=urls["journal"], timeout=120) as journal,
    ):
        await ready(targets)
        await ready(journal)
        indicators = await _agency(targets)
        await _until_journal_sees(journal, indicators)
        batches = _batches(indicators, bench.journal_entries)
        log(f"journal: {len(batches)} batches of {BATCH} entries")
        pool = await asyncpg.create_pool(bench.database_url, min_size=1, max_size=2)
        cpu = CpuSplit(bench.database_url, _service_pids(urls), workers_of=("journal",))
        queue: asyncio.Queue[tuple[str, list[dict[str, Any]]]] = asyncio.Queue()
        for batch in batches:
            queue.put_nowait(batch)
        cpu.start()
        started = time.perf_counter()
        await asyncio.gather(*(_client(journal, queue) for _ in range(CLIENTS)))
        await _until_projected(pool, bench.journal_entries)
        seconds = time.perf_counter() - started
        spent = cpu.stop(bench.journal_entries)
        await pool.close()
    return bench.journal_entries / seconds, seconds, spent


def _service_pids(urls: dict[str, str]) -> dict[str, int]:
    return {
        name: service_pid(f"services.{name}", urlsplit(urls[name]).port or 0)
        for name in ("journal", "targets")
    }


async def _agency(targets: httpx.AsyncClient) -> dict[str, tuple[str, str, str]]:
    """Each pegawai's approved SKP: nip -> (skp_id, rhk_id, indicator_id)."""
    await call(targets, "POST", "/units", "admin:bench", {"code": "BADAN", "name": "Badan"})
    await call(
        targets,
        "POST",
        "/employees",
        "admin:bench",
        {
            "nip": KEPALA,
            "name": "Kepala",
            "position": "Kepala",
            "unit_code": "BADAN",
            "job_type": "JPT",
        },
    )
    await call(targets, "POST", "/years", "admin:bench", {"year": 2026, "frequency": "MONTHLY"})
    found = {}
    for n in range(PEGAWAI):
        who = nip(n)
        await call(
            targets,
            "POST",
            "/employees",
            "admin:bench",
            {
                "nip": who,
                "name": f"P{n}",
                "position": "Analis",
                "unit_code": "BADAN",
                "job_type": "PELAKSANA",
            },
        )
        await call(
            targets,
            "PUT",
            f"/employees/{who}/supervisor",
            "admin:bench",
            {"supervisor_nip": KEPALA, "effective_from": "2026-01-01"},
        )
        skp = (
            await call(
                targets, "POST", "/skps", who, {"nip": who, "year": 2026, "approach": "KUANTITATIF"}
            )
        )["skp_id"]
        target = {
            "aspect": "KUANTITAS",
            "text": "Dokumen",
            "target_value": 100,
            "target_unit": "dokumen",
        }
        rhk = await call(
            targets,
            "POST",
            f"/skps/{skp}/rhk",
            who,
            {"text": "Terolahnya dokumen", "kind": "UTAMA", "indicators": [target]},
        )
        await call(targets, "POST", f"/skps/{skp}/submit", who)
        await call(targets, "POST", f"/skps/{skp}/approve", KEPALA)
        found[who] = (skp, rhk["rhk_id"], rhk["indicator_ids"][0])
    return found


async def _until_journal_sees(
    journal: httpx.AsyncClient, indicators: dict[str, tuple[str, str, str]]
) -> None:
    last = list(indicators)[-1]
    async with asyncio.timeout(120):
        while (
            await journal.get(f"/entries/totals?nip={last}&year=2026", headers=as_(last))
        ).status_code != 200:
            await asyncio.sleep(0.2)


def _batches(
    indicators: dict[str, tuple[str, str, str]], total: int
) -> list[tuple[str, list[dict[str, Any]]]]:
    batches = []
    pegawai = list(indicators)
    for b in range(total // BATCH):
        who = pegawai[b % len(pegawai)]
        skp, rhk, indicator = indicators[who]
        entries = [
            {
                "skp_id": skp,
                "rhk_id": rhk,
                "indicator_id": indicator,
                "date": f"2026-11-{1 + i % 28:02d}",
                "description": "Mengolah dokumen kepegawaian",
                "realised_value": 1,
                "evidence": [{"uri": f"s3://badan/{b}/{i}.pdf", "sha256": "ef" * 32}],
            }
            for i in range(BATCH)
        ]
        batches.append((who, entries))
    return batches


async def _client(
    journal: httpx.AsyncClient, queue: "asyncio.Queue[tuple[str, list[dict[str, Any]]]]"
) -> None:
    while not queue.empty():
        who, entries = queue.get_nowait()
        response = await journal.post("/entries/batch", json={"entries": entries}, headers=as_(who))
        if response.status_code != 201:
            raise RuntimeError(f"batch refused: {response.status_code} {response.text[:300]}")


async def _until_projected(pool: asyncpg.Pool, total: int) -> None:
    async with asyncio.timeout(600):
        while (await pool.fetchval('SELECT count(*) FROM "proj_journal_entries".entries')) < total:
            await asyncio.sleep(0.1)
