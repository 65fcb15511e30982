"""The roster import on the real store: ten thousand rows, bad ones by line, a second run
changing nothing."""

import random
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest

from services.targets.domain.roster import Employee, Unit
from services.targets.entrypoints.roster_import import ImportReport, import_roster, read_rows
from shared.contracts.catalog import full_catalog
from shared.store.event_store import CommandContext, EventStore
from shared.store.repository import Repository

HEADER = "nip,name,position,unit_code,job_type,supervisor_nip,supervisor_from\n"


def generated_nip(n: int) -> str:
    """A well-formed NIP: a real birth date, a real month of appointment, sequence n."""
    born = date(1970, 1, 1).toordinal() + n % 9000
    birth = date.fromordinal(born)
    return f"{birth:%Y%m%d}{2000 + n % 20}{1 + n % 12:02d}{1 + n % 2}{1 + n % 999:03d}"


def roster_csv(path: Path, employees: int) -> list[str]:
    """One head, then everyone rated by someone earlier in the file."""
    nips = list(dict.fromkeys(generated_nip(n) for n in range(employees * 2)))[:employees]
    lines = [f"{nips[0]},Kepala,Kepala Badan,BADAN,JPT,,\n"]
    rng = random.Random(7)
    for i, nip in enumerate(nips[1:], start=1):
        rater = nips[rng.randrange(0, min(i, max(1, i // 10)))]  # someone before them
        lines.append(f"{nip},Pegawai {i},Analis,BADAN,FUNGSIONAL,{rater},2026-01-01\n")
    path.write_text(HEADER + "".join(lines))
    return nips


@pytest.fixture
async def repository(pool: asyncpg.Pool) -> Repository:
    store = EventStore(pool, f"targets_{uuid.uuid4().hex[:8]}")
    await store.migrate()
    repository = Repository(store, full_catalog())
    unit = Unit("BADAN")
    unit.create("Badan Kepegawaian", parent=None)
    await repository.save(unit, subject="unit:BADAN", context=context())
    return repository


def context() -> CommandContext:
    return CommandContext("admin:import", "import-test", datetime.now(UTC))


async def run(repository: Repository, path: Path) -> ImportReport:
    report = ImportReport()
    rows = read_rows(path, report)
    return await import_roster(repository, rows, context(), report)


async def test_ten_thousand_employees_import_once_and_a_second_run_records_nothing(
    repository: Repository, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    nips = roster_csv(tmp_path / "roster.csv", 10_000)

    started = time.perf_counter()
    first = await run(repository, tmp_path / "roster.csv")
    took = time.perf_counter() - started
    print(f"\nroster import: 10,000 employees in {took:.1f}s")  # for the note
    events = f"SELECT count(*) FROM {repository.store.schema}.events"
    recorded = await pool.fetchval(events)
    second = await run(repository, tmp_path / "roster.csv")

    assert (first.registered, first.assigned, first.bad) == (10_000, 9_999, [])
    assert (second.registered, second.assigned, second.unchanged) == (0, 0, 10_000)
    assert await pool.fetchval(events) == recorded
    someone = await repository.load(Employee, nips[500])
    assert someone.supervisor_on(date(2026, 6, 1)) in nips[:50]


async def test_bad_rows_are_reported_by_line_and_good_rows_kept(
    repository: Repository, tmp_path: Path
) -> None:
    good, boss = generated_nip(1), generated_nip(2)
    (tmp_path / "roster.csv").write_text(
        HEADER
        + f"{boss},Kepala,Kepala,BADAN,JPT,,\n"
        + "199002302015031001,Tanggal Salah,Analis,BADAN,PELAKSANA,,\n"  # line 3: 30 February
        + f"{good},Andi,Analis,BADAN,FUNGSIONAL,{boss},2026-01-01\n"
        + f"{generated_nip(3)},Budi,Analis,NOWHERE,FUNGSIONAL,,\n"  # line 5: no such unit
        + f"{generated_nip(4)},Citra,Analis,BADAN,FUNGSIONAL,{generated_nip(99)},2026-01-01\n"
        + f"{generated_nip(5)},Dewi,Analis,BADAN,MANAJER,,\n"  # line 7: no such job type
    )

    report = await run(repository, tmp_path / "roster.csv")

    assert [line for line, _ in sorted(report.bad)] == [3, 5, 6, 7]
    assert "nip" in dict(report.bad)[3]
    assert report.registered == 3  # the head, Andi and Citra (whose rater is unknown)
    assert (await repository.load(Employee, good)).supervisor_on(date(2026, 2, 1)) == boss
