"""The whole system, four services as separate processes on real Kafka and PostgreSQL, through
a year of the sample agency: its first quarter as `make run` plays it, then three more
quarters and the annual result, with the journal killed (SIGKILL) in the middle of the
second quarter and the Kafka broker stopped through part of the third. Afterwards: every
recorded event is on its topic (as a plain Kafka client, kcat, reads it), nothing was
applied twice, and every projection replayed from the topics equals its live tables."""

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import asyncpg
import pytest

from deploy.local.seed import (
    ADMIN,
    BAGIAN,
    HEAD,
    SEKJEN,
    STAFF,
    SUPERVISORS,
    UNIT,
    Api,
    seed,
)
from services.appraisal.entrypoints.app import projections as appraisal_projections
from services.journal.entrypoints.app import projections as journal_projections
from services.notify.entrypoints.app import projections as notify_projections
from services.targets.entrypoints.app import projections as targets_projections
from tests.e2e.conftest import Broker
from tests.support.replays import replay_and_compare
from tests.support.services import Running, ready, running_services, until

YEAR = datetime.now(UTC).year - 1
SERVICES = ["targets", "journal", "appraisal", "notify --no-reminders"]
ATAS, SESUAI = "DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI"


@pytest.fixture
def services(database_url: str, kafka_bootstrap_servers: str) -> Iterator[Running]:
    with running_services(SERVICES, database_url, kafka_bootstrap_servers) as running:
        yield running


async def test_a_year_survives_a_killed_service_and_a_stopped_broker(
    services: Running,
    broker: Broker,
    pool: asyncpg.Pool,
    kafka_bootstrap_servers: str,
    tmp_path: Path,
) -> None:
    async with Api(services.urls) as api:
        for client in api.clients.values():
            await ready(client)
        assert await seed(services.urls, YEAR, say=lambda _: None)
        indicators = await _indicators(api)
        for n, nip in enumerate(STAFF):  # Q2, the journal killed half way and started again
            if n == 6:
                services.kill("journal")
                services.start("journal")
            await _entry(api, nip, indicators[nip], f"{YEAR}-05-{10 + n}")
        await asyncio.to_thread(broker.stop)  # Q3: the broker away; the stores take the writes
        try:
            for n, nip in enumerate(STAFF):
                await _entry(api, nip, indicators[nip], f"{YEAR}-08-{10 + n}")
        finally:
            await asyncio.to_thread(broker.start)
        for n, nip in enumerate(STAFF):  # Q4
            await _entry(api, nip, indicators[nip], f"{YEAR}-11-{10 + n}")
        for period in ("Q2", "Q3", "Q4", "ANNUAL"):
            await _rate_everyone(api, period)
        document = await until(
            lambda: api.send("appraisal", "GET", f"/documents/{STAFF[0]}/{YEAR}", STAFF[0]),
            lambda d: all(d["periodic_results"].values()) and d["annual"],
        )
    assert document["annual"]["predikat"] == "SANGAT_BAIK"
    assert [r["predikat"] for r in document["periodic_results"].values()] == ["SANGAT_BAIK"] * 4

    await _nothing_lost(services, pool, kafka_bootstrap_servers)
    await _nothing_doubled(pool)
    await asyncio.to_thread(_exported_and_verified, services, tmp_path)
    for projection in [
        *targets_projections(services.namespace), *journal_projections(services.namespace),
        *appraisal_projections(services.namespace), *notify_projections(services.namespace),
    ]:  # fmt: skip
        live, replayed = await replay_and_compare(projection, pool, kafka_bootstrap_servers)
        assert replayed == live, projection.name


async def _indicators(api: Api) -> dict[str, tuple[str, str, str]]:
    found = {}
    for nip in STAFF:
        skp = await api.send("targets", "GET", f"/skps?nip={nip}&year={YEAR}", nip)
        rhk = skp["rhk"][0]
        found[nip] = (skp["skp_id"], rhk["rhk_id"], rhk["indicators"][0]["indicator_id"])
    return found


async def _entry(api: Api, nip: str, indicator: tuple[str, str, str], day: str) -> None:
    skp_id, rhk_id, indicator_id = indicator
    body = {
        "skp_id": skp_id, "rhk_id": rhk_id, "indicator_id": indicator_id, "date": day,
        "description": "Laporan", "realised_value": 1,
        "evidence": [{"uri": f"s3://arsip/{nip}/{day}.pdf", "sha256": "cd" * 32}],
    }  # fmt: skip
    await api.send("journal", "POST", "/entries", nip, body)


async def _rate_everyone(api: Api, period: str) -> None:
    for code, predikat in ((UNIT, "BAIK"), (BAGIAN[0], "BAIK"), (BAGIAN[1], "BAIK")):
        path = f"/units/{code}/organisation-predicates/{YEAR}/{period}"
        await api.send("appraisal", "PUT", path, ADMIN, {"predikat": predikat})
    for n, nip in enumerate(STAFF):
        body = {"hasil_kerja": ATAS if n == 0 else SESUAI, "perilaku_kerja": ATAS}
        path = f"/evaluations/{nip}/{YEAR}/{period}/rating"
        await api.send("appraisal", "POST", path, SUPERVISORS[n // 6], body)
    for nip, rater in ((SUPERVISORS[0], HEAD), (SUPERVISORS[1], HEAD), (HEAD, SEKJEN)):
        path = f"/evaluations/{nip}/{YEAR}/{period}/rating"
        await api.send("appraisal", "POST", path, rater, {"perilaku_kerja": SESUAI})


async def _nothing_lost(services: Running, pool: asyncpg.Pool, bootstrap: str) -> None:
    """Every event of every store, once or more, on its topic, as kcat reads it."""
    for service in ("targets", "journal", "appraisal", "notify"):
        stored = {
            str(r["event_id"]) for r in await pool.fetch(f"SELECT event_id FROM {service}.events")
        }

        read = partial(asyncio.to_thread, _kcat_event_ids, bootstrap, services.topic(service))
        seen = await until(read, partial(set[str].issubset, stored), seconds=120)
        assert seen == stored, service  # and nothing on the topic that the store lacks


def _exported_and_verified(services: Running, folder: Path) -> None:
    """What an auditor runs: the year exported with its hashes; every chain whole in the
    stores, on the topics, and in the export file."""
    exported = folder / f"kinerja-{YEAR}.jsonl"
    kinerja = [sys.executable, "-m", "shared.cli"]
    for command in (
        ["export", "--year", str(YEAR), "--format", "jsonl", "--output", str(exported)],
        ["verify", "--namespace", services.namespace],
        ["verify", "--export", str(exported)],
    ):
        done = subprocess.run(
            [*kinerja, *command], env=services.env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert exported.stat().st_size > 0


def _kcat_event_ids(bootstrap: str, topic: str) -> set[str]:
    """CloudEvents ids on a topic, from kcat, a Kafka client that is none of our code."""
    done = subprocess.run(
        ["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
         "-f", "%h\\n"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    ids = set()
    for line in done.stdout.splitlines():
        headers = dict(h.split("=", 1) for h in line.split(",") if "=" in h)
        assert headers["ce_specversion"] == "1.0", line
        assert headers["content-type"] == "application/json", line
        ids.add(headers["ce_id"])
    return ids


async def _nothing_doubled(pool: asyncpg.Pool) -> None:
    """The read models caught up (bounded waits), then exactly what was recorded, once."""
    recorded = len(STAFF) * 5  # two in Q1 (the seed), one in each later quarter
    counted = partial(pool.fetchval, "SELECT count(*) FROM proj_journal_entries.entries")
    await until(counted, lambda n: n >= recorded, seconds=120)
    await until(
        partial(pool.fetchval, "SELECT count(*) FROM proj_appraisal_results.results"),
        lambda n: n >= 5 * (len(STAFF) + 3),
        seconds=120,
    )
    await asyncio.sleep(2)  # room for a late duplicate, which must not come
    assert await counted() == recorded
    rated = await pool.fetch(
        "SELECT period, count(*) AS n FROM proj_appraisal_results.results GROUP BY period"
    )
    assert Counter({r["period"]: r["n"] for r in rated}) == Counter(
        {p: len(STAFF) + 3 for p in ("Q1", "Q2", "Q3", "Q4", "ANNUAL")}
    )
    emails = await pool.fetchval(
        "SELECT count(*) FROM notify.deliveries WHERE channel = 'email'"
        " GROUP BY event_id, target ORDER BY count(*) DESC LIMIT 1"
    )
    assert emails == 1
