"""A full month-end batch (5,000 entries, about 2 MB) sent with an `Idempotency-Key`: the
journal's API is killed while it records it, started again, and the retry with the same key
records the batch once; a second retry gets the same answer again."""

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.agency import ANDI, YEAR, agency_with_an_approved_skp
from tests.support.services import (
    Running,
    as_,
    once_the_journal_has_seen,
    ready,
    running_services,
)

BATCH = 5000


def month_end(skp: tuple[str, str, str]) -> list[dict[str, Any]]:
    skp_id, rhk_id, indicator_id = skp
    where = {"skp_id": skp_id, "rhk_id": rhk_id, "indicator_id": indicator_id}
    return [
        {
            **where,
            "date": f"{YEAR}-03-{1 + n % 28:02d}",
            "description": f"kegiatan bulan Maret #{n}",
            "realised_value": 1,
            "evidence": [{"uri": f"s3://bukti/{n}.pdf", "sha256": "ab" * 32}],
        }
        for n in range(BATCH)
    ]


async def recorded(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM journal.events WHERE event_type = 'kinerja.journal.entry-recorded'"
        " AND payload->>'description' LIKE 'kegiatan bulan Maret #%'"
    )
    return count


@pytest.fixture
def running(database_url: str, kafka_bootstrap_servers: str) -> Iterator[Running]:
    with running_services(["targets", "journal"], database_url, kafka_bootstrap_servers) as it:
        yield it


async def test_a_full_batch_cut_off_by_a_kill_is_recorded_once_by_its_retries(
    running: Running, pool: asyncpg.Pool
) -> None:
    targets = httpx.AsyncClient(base_url=running.urls["targets"], timeout=10)
    journal = httpx.AsyncClient(base_url=running.urls["journal"], timeout=60)
    async with targets, journal:
        await ready(targets)
        await ready(journal)
        skp = await agency_with_an_approved_skp(targets)
        one = {**month_end(skp)[0], "description": "the journal has seen the SKP"}
        seen = await once_the_journal_has_seen(journal, one, ANDI)
        assert seen.status_code == 201, seen.text
        body = {"entries": month_end(skp)}
        headers = {**as_(ANDI), "Idempotency-Key": "maret-2026"}

        sent = asyncio.create_task(journal.post("/entries/batch", json=body, headers=headers))
        await _writing(pool)  # its events on their way into the store, not yet committed
        running.kill("journal")
        cut_off = await asyncio.gather(sent, return_exceptions=True)
        assert isinstance(cut_off[0], httpx.TransportError), cut_off  # no answer reached us
        running.start("journal")
        await ready(journal)

        retried = await journal.post("/entries/batch", json=body, headers=headers)
        again = await journal.post("/entries/batch", json=body, headers=headers)

    assert retried.status_code == 201, retried.text[:500]
    assert len(retried.json()) == BATCH
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == retried.json()
    assert await recorded(pool) == BATCH  # once: nothing of the cut-off run was left


async def _writing(pool: asyncpg.Pool) -> None:
    """Until the batch's transaction is copying its events into the store (or, should that
    be missed between two looks, until it has held its key for a second)."""
    held_since = None
    async with asyncio.timeout(30):
        while True:
            state = await pool.fetchrow(
                "SELECT bool_or(query LIKE 'COPY%') AS copying,"
                " (SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())) AS held"
                " FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
                " AND pid <> pg_backend_pid()"
            )
            assert state is not None  # an aggregate: always one row
            if state["copying"]:
                return
            if state["held"]:
                held_since = held_since or asyncio.get_running_loop().time()
                if asyncio.get_running_loop().time() - held_since > 1:
                    return
            await asyncio.sleep(0.01)
