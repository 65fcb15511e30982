"""The auditor's commands on the real stores: `history --as-of` before and after a rating
amended through the appraisal API, `export` of a year, and `verify` of the database and of
the export file, which finds one edited line by its stream and version."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from typer.testing import Result

from services.appraisal.entrypoints.app import build_app, projections
from services.appraisal.projections import TargetsFacts
from shared.cli.common import SERVICES
from shared.config import KinerjaSettings
from shared.contracts.journal import EntryCorrected, EntryRecorded, Evidence, FeedbackGiven
from shared.contracts.targets import (
    Approach,
    Aspect,
    EmployeeRegistered,
    Frequency,
    Indicator,
    JobType,
    PerformanceYearOpened,
    Period,
    RhkAdded,
    RhkKind,
    SkpApproved,
    SkpDrafted,
    SkpSubmitted,
    SupervisorAssigned,
    UnitCreated,
)
from shared.events.envelope import Envelope
from shared.events.model import DomainEvent
from shared.projections.schema import use_schema
from shared.store.event_store import CommandContext, EventStore
from tests.support.cli import kinerja
from tests.support.clocks import Clock
from tests.support.services import as_

SEKDA, KEPALA, ANDI = "196801011990031001", "197001011995031001", "199001012015031001"
SKP, EVALUATION = f"{ANDI}-2026", f"evaluation-{ANDI}:2026:Q1"
PROOF = Evidence(uri="s3://bkd/l.pdf", sha256="ab" * 32)


@pytest.fixture
def env(database_url: str, kafka_bootstrap_servers: str) -> dict[str, str]:
    return {
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
    }


@pytest.fixture
async def appraisal(
    database_url: str, kafka_bootstrap_servers: str, pool: asyncpg.Pool
) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    """The appraisal API in process with its clock in the test's hands, over empty stores."""
    for schema in [*SERVICES, *(p.schema() for p in projections("kinerja"))]:
        await pool.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    for service in SERVICES:
        await EventStore(pool, service).migrate()
    clock = Clock(datetime(2026, 4, 6, 2, 0, tzinfo=UTC))
    settings = KinerjaSettings(
        database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap_servers
    )
    api = build_app(settings, clock=clock)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://appraisal") as client:
            yield client, clock


class Stores:
    """Appends to the services' stores as their handlers would, at a given time."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(
        self, service: str, stream: str, subject: str, when: datetime, *events: DomainEvent
    ) -> list[Envelope]:
        store = EventStore(self.pool, service, clock=lambda: when)
        version = len(await store.read_stream(stream))
        context = CommandContext(actor="admin:test", correlation_id="test", occurred_at=when)
        return await store.append(stream, version, list(events), subject=subject, context=context)


async def the_year(pool: asyncpg.Pool) -> None:
    """The roster, Andi's approved SKP of 2026 (fed to appraisal's view of the targets, as its
    runner would), an entry corrected and answered; and a 2025 SKP no 2026 audit needs."""
    stores, january = Stores(pool), datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    quarters = [
        Period(code=f"Q{n}", starts=date(2026, 3 * n - 2, 1), ends=end)
        for n, end in enumerate(
            [date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31)], 1
        )
    ]
    indicator = Indicator(indicator_id="iki-1", aspect=Aspect.KUANTITAS, text="Laporan",
                          target_value=4, target_unit="laporan")  # fmt: skip
    targets = [
        *await stores.add("targets", "year-2026", "year:2026", january,
                          PerformanceYearOpened(year=2026, frequency=Frequency.QUARTERLY,
                                                periods=quarters)),
        *await stores.add("targets", "unit-BIRO", "unit:BIRO", january,
                          UnitCreated(code="BIRO", name="Biro", parent_code=None)),
    ]  # fmt: skip
    for nip, job, rater in ((SEKDA, JobType.JPT, None), (KEPALA, JobType.ADMINISTRATOR, SEKDA),
                            (ANDI, JobType.FUNGSIONAL, KEPALA)):  # fmt: skip
        events: list[DomainEvent] = [
            EmployeeRegistered(nip=nip, name="P", position="J", unit_code="BIRO", job_type=job)
        ]
        if rater:
            events.append(
                SupervisorAssigned(nip=nip, supervisor_nip=rater, effective_from=date(2026, 1, 1))
            )
        targets += await stores.add("targets", f"employee-{nip}", nip, january, *events)
    targets += await stores.add(
        "targets", f"skp-{SKP}", ANDI, january,
        SkpDrafted(skp_id=SKP, nip=ANDI, year=2026, approach=Approach.KUANTITATIF),
        RhkAdded(skp_id=SKP, rhk_id="rhk-1", text="Laporan", kind=RhkKind.UTAMA,
                 parent_rhk_id=None, perspective=None, indicators=[indicator]),
        SkpSubmitted(skp_id=SKP, version=1),
        SkpApproved(skp_id=SKP, version=1, approved_by=KEPALA),
    )  # fmt: skip
    await stores.add("targets", f"skp-{ANDI}-2025", ANDI, datetime(2025, 1, 6, tzinfo=UTC),
                     SkpDrafted(skp_id=f"{ANDI}-2025", nip=ANDI, year=2025,
                                approach=Approach.KUANTITATIF))  # fmt: skip
    async with pool.acquire() as db, db.transaction():
        await use_schema(db, TargetsFacts().schema())
        for envelope in targets:
            await TargetsFacts().apply(db, envelope)
    entry = dict(entry_id="e1", date=date(2026, 2, 10), description="Laporan", realised_text=None,
                 evidence=[PROOF])  # fmt: skip
    await stores.add("journal", "entry-e1", ANDI, datetime(2026, 2, 10, 3, 0, tzinfo=UTC),
                     EntryRecorded(**entry, nip=ANDI, skp_id=SKP, rhk_id="rhk-1",
                                   indicator_id="iki-1", realised_value=5))  # fmt: skip
    await stores.add("journal", "entry-e1", ANDI, datetime(2026, 3, 1, 3, 0, tzinfo=UTC),
                     EntryCorrected(**entry, realised_value=2),
                     FeedbackGiven(entry_id="e1", given_by=KEPALA, text="Lengkapi"))  # fmt: skip


async def rated_then_amended(api: httpx.AsyncClient, clock: Clock) -> None:
    """Q1 rated BAIK on 6 April, amended to SANGAT_BAIK on 8 April, through the API."""
    path = f"/evaluations/{ANDI}/2026/Q1/rating"
    given = [("SESUAI_EKSPEKTASI", "BAIK", 6), ("DI_ATAS_EKSPEKTASI", "SANGAT_BAIK", 8)]
    for perilaku, predikat, day in given:
        clock.now = datetime(2026, 4, day, 2, 0, tzinfo=UTC)
        body = {"hasil_kerja": "DI_ATAS_EKSPEKTASI", "perilaku_kerja": perilaku}
        answer = await api.post(path, json=body, headers=as_(KEPALA))
        assert answer.status_code == 201, answer.text
        assert answer.json()["predikat"] == predikat


@pytest.fixture
async def recorded(appraisal: tuple[httpx.AsyncClient, Clock], pool: asyncpg.Pool) -> None:
    await the_year(pool)
    await rated_then_amended(*appraisal)


def answer_of(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


async def test_history_as_of_gives_the_first_predikat_before_the_amendment_and_the_amended_after(
    recorded: None, env: dict[str, str]
) -> None:
    before = answer_of(await kinerja(env, "history", "--nip", ANDI, "--as-of", "2026-04-07"))
    after = answer_of(await kinerja(env, "history", "--nip", ANDI, "--as-of", "2026-04-09"))

    [q1_before], [q1_after] = before["evaluations"], after["evaluations"]
    assert (q1_before["predikat"], len(q1_before["ratings"])) == ("BAIK", 1)
    assert q1_after["predikat"] == "SANGAT_BAIK"
    assert [(r["predikat"], r["amends"]) for r in q1_after["ratings"]] == [
        ("BAIK", False), ("SANGAT_BAIK", True)
    ]  # fmt: skip
    assert [d["cause"] for d in q1_after["determined"]] == ["RATING", "AMENDMENT"]
    assert q1_after["ratings"][1]["actor"] == KEPALA
    assert before["events_recorded_later"] == 2
    [skp_2025, skp] = after["skps"]
    assert (skp_2025["year"], skp["status"], skp["rhk"][0]["rhk_id"]) == (2025, "APPROVED", "rhk-1")
    [entry] = after["entries"]
    assert (entry["recorded"]["realised_value"], entry["current"]["realised_value"]) == (5, 2)
    assert [f["text"] for f in entry["feedback"]] == ["Lengkapi"]


async def test_history_as_a_table_and_of_a_nip_never_seen(
    recorded: None, env: dict[str, str]
) -> None:
    table = await kinerja(env, "history", "--nip", ANDI, "--format", "table")
    stranger = await kinerja(env, "history", "--nip", "199205152018012002")

    assert table.exit_code == 0, table.output
    assert "SANGAT_BAIK" in table.stdout
    assert stranger.exit_code == 2
    assert stranger.stderr == "history: the record holds no event about NIP 199205152018012002\n"


async def test_an_export_of_the_year_and_the_database_both_verify_and_an_edit_is_found(
    recorded: None, env: dict[str, str], tmp_path: Path
) -> None:
    jsonl, csv = tmp_path / "2026.jsonl", tmp_path / "2026.csv"
    exported = await kinerja(env, "export", "--year", "2026", "--output", str(jsonl))
    as_csv = await kinerja(env, "export", "--year", "2026", "--format", "csv", "-o", str(csv))
    database = await kinerja(env, "verify", "--no-topics")
    file = await kinerja(env, "verify", "--export", str(jsonl))
    csv_file = await kinerja(env, "verify", "--export", str(csv))

    for result in (exported, as_csv, database, file, csv_file):
        assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    streams = {r["stream_id"] for r in records if r["record"] == "event"}
    assert streams == {
        "year-2026", "unit-BIRO", f"employee-{SEKDA}", f"employee-{KEPALA}", f"employee-{ANDI}",
        f"skp-{SKP}", "entry-e1", EVALUATION,
    }  # fmt: skip
    assert (records[0]["record"], records[0]["events"]) == ("export", len(records) - 1 - 8)
    assert "store appraisal: verified 4 events in 1 streams: 0 breaks" in database.stdout
    assert f"export 2026.jsonl: verified {records[0]['events']} events" in file.stdout

    lines = jsonl.read_text().splitlines()
    [at] = [n for n, r in enumerate(records) if r.get("payload", {}).get("amends") is True]
    records[at]["payload"]["predikat"] = "BAIK"
    lines[at] = json.dumps(records[at])
    jsonl.write_text("\n".join(lines) + "\n")
    tampered = await kinerja(env, "verify", "--export", str(jsonl))

    assert tampered.exit_code == 1, tampered.output
    assert f"stream={EVALUATION} version=3 kind=edited" in tampered.stdout
    assert "1 breaks" in tampered.stdout
