"""The journal's read model on the real broker and database: action plans beside the realised
totals of their indicator and period; and a replay of the read model from its topic rebuilds
every table exactly as the live runner built it."""

import asyncio
from datetime import date
from typing import Any

import asyncpg
import pytest

from services.journal.domain.entry import Realisation
from services.journal.service_layer import read_models
from services.journal.service_layer.handlers import RecordEntry
from services.targets.domain.skp import skp_id
from services.targets.service_layer import commands as c
from shared.contracts.targets import Approach, Aspect, Frequency, JobType, RhkKind
from shared.domain.errors import RuleViolation
from shared.domain.identity import Identity
from shared.projections.projection import Projection
from shared.projections.replay import replay
from tests.integration.journal.world import World, as_, context

KEPALA, ANDI = "197001011995031001", "199001012015031001"
ADMIN = Identity.from_subject("admin:biro")
ANDI_2026 = skp_id(ANDI, 2026)


async def approved_skp(world: World) -> tuple[str, str]:
    """Andi's approved SKP of 2026 (quarterly), seen by the journal: its RHK and indicator."""
    targets = world.targets
    await targets.create_unit(c.CreateUnit("BIRO", "Biro"), ADMIN, context(ADMIN))
    for nip, job in ((KEPALA, JobType.JPT), (ANDI, JobType.FUNGSIONAL)):
        await targets.register_employee(
            c.RegisterEmployee(nip, "P", "J", "BIRO", job), ADMIN, context(ADMIN)
        )
    await targets.assign_supervisor(
        c.AssignSupervisor(ANDI, KEPALA, date(2026, 1, 1)), ADMIN, context(ADMIN)
    )
    await targets.open_year(c.OpenYear(2026, Frequency.QUARTERLY), ADMIN, context(ADMIN))
    andi, kepala = as_(ANDI), as_(KEPALA)
    await targets.draft_skp(c.DraftSkp(ANDI, 2026, Approach.KUANTITATIF), andi, context(andi))
    indicator = c.NewIndicator(Aspect.KUANTITAS, "Laporan", 4, "laporan")
    rhk = await targets.add_rhk(
        c.AddRhk(ANDI_2026, "Tersusunnya laporan", RhkKind.UTAMA, [indicator]), andi, context(andi)
    )
    await targets.submit_skp(c.SubmitSkp(ANDI_2026), andi, context(andi))
    await targets.approve_skp(c.ApproveSkp(ANDI_2026), kepala, context(kepala))
    async with asyncio.timeout(60):
        while not ((skp := await world.journal.view.skp(ANDI_2026)) and skp.approved):
            await asyncio.sleep(0.05)
    return rhk.id, rhk.ids[0]


async def eventually(read: Any, expected: object) -> None:
    async with asyncio.timeout(60):
        while await read() != expected:
            await asyncio.sleep(0.1)


def done(day: date, value: float) -> Realisation:
    return Realisation(day, "Laporan", value, None, ())


def entry(on: tuple[str, str], day: date, value: float) -> RecordEntry:
    """An entry on (RHK, indicator) of Andi's SKP."""
    return RecordEntry(ANDI_2026, *on, done(day, value))


async def test_action_plans_are_read_beside_the_realised_total_of_their_period(
    world: World, pool: asyncpg.Pool
) -> None:
    indicator = await approved_skp(world)
    _, indicator_id = indicator
    journal, andi, kepala = world.journal, as_(ANDI), as_(KEPALA)
    march = await journal.record_entry(entry(indicator, date(2026, 3, 20), 1), andi, context(andi))
    april = [entry(indicator, date(2026, 4, day), 1) for day in (6, 7)]
    await journal.record_entries(april, andi, context(andi))
    await journal.correct_entry(march.id, done(date(2026, 3, 20), 2), andi, context(andi))
    await journal.give_feedback(march.id, "Bagus", kepala, context(kepala))
    for period, planned in (("Q1", 2.0), ("Q2", 4.0), ("Q2", 5.0)):  # Q2 set, then replaced
        await journal.set_action_plan(
            ANDI_2026, indicator_id, period, (planned, None), andi, context(andi)
        )
    skp = await journal.skp(ANDI_2026)

    async def plans(period: str | None = None) -> list[tuple[object, ...]]:
        rows = await read_models.action_plans(pool, skp, period)
        keys = ("period", "planned_value", "version", "realised", "entries")
        return [tuple(row[k] for k in keys) for row in rows]

    await eventually(plans, [("Q1", 2.0, 1, 2.0, 1), ("Q2", 5.0, 2, 2.0, 2)])
    assert await plans("Q2") == [("Q2", 5.0, 2, 2.0, 2)]
    assert await plans("Q3") == []
    [q1] = await read_models.action_plans(pool, skp, "Q1")
    assert (q1["plan_id"], q1["skp_id"], q1["indicator_id"], q1["planned_text"]) == (
        f"{ANDI_2026}-{indicator_id}-Q1",
        ANDI_2026,
        indicator_id,
        None,
    )
    with pytest.raises(RuleViolation):
        await read_models.action_plans(pool, skp, "M01")  # not a period of a quarterly year


async def test_a_replay_of_the_read_model_rebuilds_every_table_as_the_live_one(
    world: World, pool: asyncpg.Pool, kafka_bootstrap_servers: str
) -> None:
    indicator = await approved_skp(world)
    _, indicator_id = indicator
    journal, andi, kepala = world.journal, as_(ANDI), as_(KEPALA)
    first = await journal.record_entry(entry(indicator, date(2026, 2, 2), 1), andi, context(andi))
    may = [entry(indicator, date(2026, 5, day), day) for day in range(1, 21)]
    await journal.record_entries(may, andi, context(andi))
    await journal.correct_entry(first.id, done(date(2026, 2, 3), 3), andi, context(andi))
    await journal.give_feedback(first.id, "Lanjutkan", kepala, context(kepala))
    for period, planned in (("Q1", 1.0), ("Q2", 30.0), ("Q2", 40.0)):
        await journal.set_action_plan(
            ANDI_2026, indicator_id, period, (planned, None), andi, context(andi)
        )

    await eventually(lambda: caught_up(pool, world), True)
    live = await read_model(pool, world.read_model)
    counts = {table: len(rows) for table, rows in live.items()}
    assert counts == {"action_plans": 2, "entries": 21, "entry_versions": 22, "feedback": 1}
    # damage the live tables: only a rebuild from the topic, switched into place, undoes it
    schema = world.read_model.schema()
    await pool.execute(f'UPDATE "{schema}".action_plans SET planned_value = -1')
    await pool.execute(f'DELETE FROM "{schema}".entry_versions WHERE version = 2')

    await replay(world.read_model, pool, kafka_bootstrap_servers)

    assert await read_model(pool, world.read_model) == live


async def caught_up(pool: asyncpg.Pool, world: World) -> bool:
    """Every stream of the journal's store applied to its head: the read model is complete
    (counting rows is not enough, a plan set again changes no count)."""
    store = world.journal_store
    heads = await pool.fetch(f"SELECT stream_id, version FROM {store.schema}.streams")
    applied = await pool.fetch(
        f'SELECT stream_id, version FROM "{world.read_model.schema()}"._streams WHERE source = $1',
        store.service,
    )
    return dict(map(tuple, heads)) == dict(map(tuple, applied))


async def read_model(
    pool: asyncpg.Pool, projection: Projection
) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the projection's own tables (not the runner's bookkeeping), sorted."""
    schema = projection.schema()
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1"
        " AND table_name NOT LIKE '\\_%' ORDER BY table_name",
        schema,
    )
    model = {}
    for table in tables:
        rows = await pool.fetch(f'SELECT * FROM "{schema}"."{table["table_name"]}"')
        model[table["table_name"]] = sorted((tuple(r.values()) for r in rows), key=repr)
    return model
