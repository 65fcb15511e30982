"""The appraisal API in process on the real PostgreSQL, with its clock in the test's hands:
periods that have not ended, the 14-day appeal window, and worksheets built from events that
arrive out of order or twice. Events reach the projections through their own apply, as the
runner (proven on Kafka elsewhere) would deliver them."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from services.appraisal.entrypoints.app import build_app, projections
from services.appraisal.projections import JournalFacts, TargetsFacts
from shared.config import KinerjaSettings
from shared.contracts.journal import EntryCorrected, EntryRecorded, Evidence
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
    SupervisorAssigned,
    UnitCreated,
)
from shared.events.envelope import Envelope
from shared.events.model import DomainEvent
from shared.projections.projection import Projection
from shared.projections.schema import use_schema
from shared.store.event_store import CommandContext, EventStore
from tests.support.clocks import Clock
from tests.support.services import as_

SEKDA, KEPALA, ANDI = "196801011990031001", "197001011995031001", "199001012015031001"
SKP = f"{ANDI}-2026"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(
    database_url: str, kafka_bootstrap_servers: str, pool: asyncpg.Pool, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    for schema in ["appraisal", *(p.schema() for p in projections("kinerja"))]:
        await pool.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    settings = KinerjaSettings(
        database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap_servers
    )
    app = build_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://appraisal") as client:
            yield client


class Feed:
    """Events made into envelopes by a scratch store, then applied to a projection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.store = EventStore(pool, f"feed_{uuid.uuid4().hex[:8]}")

    async def __call__(self, projection: Projection, *events: DomainEvent) -> list[Envelope]:
        await self.store.migrate()
        context = CommandContext("admin:test", "test", datetime.now(UTC))
        envelopes = [
            (await self.store.append(f"s-{uuid.uuid4()}", 0, [e], subject=ANDI, context=context))[0]
            for e in events
        ]
        await self.apply(projection, envelopes)
        return envelopes

    async def apply(self, projection: Projection, envelopes: list[Envelope]) -> None:
        async with self.pool.acquire() as db, db.transaction():
            await use_schema(db, projection.schema())
            for envelope in envelopes:
                await projection.apply(db, envelope)


@pytest.fixture
async def feed(pool: asyncpg.Pool, api: httpx.AsyncClient) -> Feed:
    return Feed(pool)


async def agency(feed: Feed) -> None:
    ends = {"Q1": (1, 3, 31), "Q2": (4, 6, 30), "Q3": (7, 9, 30), "Q4": (10, 12, 31)}
    quarters = [
        Period(code=code, starts=date(2026, first, 1), ends=date(2026, last, day))
        for code, (first, last, day) in ends.items()
    ]
    await feed(
        TargetsFacts(),
        PerformanceYearOpened(year=2026, frequency=Frequency.QUARTERLY, periods=quarters),
        UnitCreated(code="BIRO", name="Biro", parent_code=None),
        *(
            EmployeeRegistered(nip=nip, name="P", position="J", unit_code="BIRO", job_type=job)
            for nip, job in ((SEKDA, JobType.JPT), (KEPALA, JobType.ADMINISTRATOR),
                             (ANDI, JobType.FUNGSIONAL))
        ),
        SupervisorAssigned(nip=KEPALA, supervisor_nip=SEKDA, effective_from=date(2026, 1, 1)),
        SupervisorAssigned(nip=ANDI, supervisor_nip=KEPALA, effective_from=date(2026, 1, 1)),
    )  # fmt: skip


def rating(
    hasil: str = "DI_ATAS_EKSPEKTASI", perilaku: str = "SESUAI_EKSPEKTASI"
) -> dict[str, str]:
    return {"hasil_kerja": hasil, "perilaku_kerja": perilaku}


async def post(api: httpx.AsyncClient, path: str, who: str, body: dict[str, Any]) -> httpx.Response:
    return await api.post(path, json=body, headers=as_(who))


async def test_a_period_is_rated_only_after_its_last_day_in_the_agencys_time_zone(
    api: httpx.AsyncClient, feed: Feed, clock: Clock
) -> None:
    await agency(feed)
    path = f"/evaluations/{ANDI}/2026/Q1/rating"
    clock.now = datetime(2026, 3, 31, 16, 59, tzinfo=UTC)  # 23:59 WIB on 31 March

    early = await post(api, path, KEPALA, rating())
    clock.now = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 00:00 WIB on 1 April
    on_time = await post(api, path, KEPALA, rating())

    assert early.status_code == 409, early.text
    assert "ends on 2026-03-31" in early.json()["detail"]
    assert on_time.status_code == 201, on_time.text
    assert on_time.json()["predikat"] == "BAIK"


async def test_an_appeal_on_day_fifteen_is_refused_and_on_day_fourteen_heard(
    api: httpx.AsyncClient, feed: Feed, clock: Clock
) -> None:
    await agency(feed)
    base = f"/evaluations/{ANDI}/2026"
    clock.now = datetime(2026, 4, 6, 2, 0, tzinfo=UTC)
    for period in ("Q1", "ANNUAL"):
        if period == "ANNUAL":
            clock.now = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
        assert (await post(api, f"{base}/{period}/rating", KEPALA, rating())).status_code == 201

    clock.now = datetime(2026, 4, 21, 2, 0, tzinfo=UTC)  # day 15 after 6 April
    late = await post(api, f"{base}/Q1/appeal", ANDI, {"reason": "Terlambat"})
    clock.now = datetime(2027, 1, 18, 16, 0, tzinfo=UTC)  # day 14 after 4 January, 23:00 WIB
    heard = await post(api, f"{base}/ANNUAL/appeal", ANDI, {"reason": "Tepat waktu"})

    assert late.status_code == 409, late.text
    assert "closed on 2026-04-20" in late.json()["detail"]
    assert heard.status_code == 201, heard.text
    shown = (await api.get(f"{base}/ANNUAL", headers=as_(SEKDA))).json()
    assert shown["appeal"]["decider"] == SEKDA  # the atasan pejabat penilai reads what they decide


async def test_bad_paths_get_clear_errors(api: httpx.AsyncClient, feed: Feed) -> None:
    await agency(feed)
    answers = {
        "/evaluations/199001012015031001/2026/Q5": 422,  # not a period code
        "/evaluations/1990/2026/Q1": 422,  # not a NIP
        "/evaluations/199001012015031001/2031/Q1": 409,  # a year appraisal has not seen
        "/worksheets/199001012015031001/2026/M01": 404,  # a QUARTERLY year has no months
    }
    for path, status in answers.items():
        response = await api.get(path, headers=as_("auditor:bpk"))
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_worksheet_counts_entries_that_came_before_their_skp_and_a_redelivery_once(
    api: httpx.AsyncClient, feed: Feed
) -> None:
    await agency(feed)
    proof = Evidence(uri="s3://bkd/l.pdf", sha256="ab" * 32)

    def entry(entry_id: str, day: date, value: float) -> EntryRecorded:
        return EntryRecorded(
            entry_id=entry_id, nip=ANDI, skp_id=SKP, rhk_id="rhk-1", indicator_id="iki-1",
            date=day, description="Laporan", realised_value=value, realised_text=None,
            evidence=[proof],
        )  # fmt: skip

    entries = await feed(
        JournalFacts(),
        entry("e1", date(2026, 2, 10), 1),
        entry("e2", date(2026, 3, 20), 5),
        entry("e3", date(2026, 5, 4), 2),
        EntryCorrected(entry_id="e2", date=date(2026, 3, 20), description="Laporan",
                       realised_value=2, realised_text=None, evidence=[proof]),
    )  # fmt: skip
    await feed.apply(JournalFacts(), entries[:1])  # a redelivery
    unseen = await api.get(f"/worksheets/{ANDI}/2026/Q1", headers=as_(ANDI))
    target = Indicator(indicator_id="iki-1", aspect=Aspect.KUANTITAS, text="Laporan",
                       target_value=8, target_unit="laporan")  # fmt: skip
    await feed(
        TargetsFacts(),
        SkpDrafted(skp_id=SKP, nip=ANDI, year=2026, approach=Approach.KUANTITATIF),
        RhkAdded(skp_id=SKP, rhk_id="rhk-1", text="Laporan", kind=RhkKind.UTAMA,
                 parent_rhk_id=None, perspective=None, indicators=[target]),
        SkpApproved(skp_id=SKP, version=1, approved_by=KEPALA),
    )  # fmt: skip

    q1 = (await api.get(f"/worksheets/{ANDI}/2026/Q1", headers=as_(ANDI))).json()
    year = (await api.get(f"/worksheets/{ANDI}/2026/ANNUAL", headers=as_(KEPALA))).json()

    assert unseen.status_code == 404
    [line] = q1["indicators"]
    assert (line["realised_value"], line["achievement_percent"]) == (3, 37.5)
    assert [e["entry_id"] for e in line["entries"]] == ["e1", "e2"]
    assert [e["corrected"] for e in line["entries"]] == [False, True]
    assert year["skp_status"] == "APPROVED"
    assert (
        year["indicators"][0]["realised_value"],
        year["indicators"][0]["achievement_percent"],
    ) == (5, 62.5)
