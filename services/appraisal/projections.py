"""Appraisal's read models, each a projection through the kit (rebuilt by replay):

- `TargetsFacts` of `kinerja.targets.v1`: the roster, the years and the SKPs, the facts a
  rating is checked against and a worksheet is built on;
- `JournalFacts` of `kinerja.journal.v1`: entries as they now read, and action plans;
- `Results` of `kinerja.appraisal.v1`: each period's current result and each unit's
  organisation predicate, which the distribution curve counts.

Topics are not ordered against each other, so nothing here joins across events: an entry
may land before its SKP. Worksheets and facts join the tables when they are read.
"""

import orjson

from shared.contracts.appraisal import (
    AppealDecided,
    AppealFiled,
    OrganisationPredicateSet,
    RatingGiven,
)
from shared.contracts.catalog import full_catalog
from shared.contracts.journal import ActionPlanSet, EntryCorrected, EntryRecorded, Evidence
from shared.contracts.targets import (
    EmployeeRegistered,
    RhkAdded,
    RhkChanged,
    RhkRemoved,
    SkpApproved,
    SkpDrafted,
    SkpReturned,
    SkpRevisionOpened,
    SkpSubmitted,
    UnitCreated,
    UnitHeadAppointed,
)
from shared.events.envelope import Envelope
from shared.projections import roster_facts
from shared.projections.projection import Projection
from shared.store.db import Connection

CATALOG = full_catalog()


class TargetsFacts(Projection):
    name = "appraisal.targets"
    tables = (
        roster_facts.TABLES
        + """
    CREATE TABLE units (code text PRIMARY KEY, name text NOT NULL, parent_code text);
    CREATE TABLE unit_heads (
        code text NOT NULL, effective_from date NOT NULL, head_nip text NOT NULL,
        PRIMARY KEY (code, effective_from)
    );
    CREATE TABLE employees (
        nip text PRIMARY KEY, name text NOT NULL, position text NOT NULL,
        unit_code text NOT NULL, job_type text NOT NULL
    );
    CREATE INDEX employees_of_unit ON employees (unit_code);
    CREATE TABLE skps (
        skp_id text PRIMARY KEY, nip text NOT NULL, year integer NOT NULL,
        approach text NOT NULL, status text NOT NULL, version integer NOT NULL DEFAULT 1,
        approved_by text
    );
    CREATE INDEX skps_of_pegawai ON skps (nip, year);
    CREATE TABLE rhk (
        skp_id text NOT NULL, rhk_id text NOT NULL, text text NOT NULL, kind text NOT NULL,
        parent_rhk_id text, perspective text, position bigint NOT NULL,
        PRIMARY KEY (skp_id, rhk_id)
    );
    CREATE TABLE indicators (
        skp_id text NOT NULL, rhk_id text NOT NULL, indicator_id text NOT NULL,
        aspect text NOT NULL, text text NOT NULL, target_value double precision,
        target_unit text, target_text text, position integer NOT NULL,
        PRIMARY KEY (skp_id, indicator_id)
    );
    """
    )

    reads = ("targets",)

    async def apply(self, db: Connection, event: Envelope) -> None:
        if event.event_type not in CATALOG:
            return
        decoded = event.decode(CATALOG)
        if await roster_facts.apply_roster_fact(db, decoded):
            return
        match decoded:
            case UnitCreated() as e:
                await db.execute(
                    "INSERT INTO units VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    e.code, e.name, e.parent_code,
                )  # fmt: skip
            case UnitHeadAppointed() as e:
                await db.execute(
                    "INSERT INTO unit_heads VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    e.code, e.effective_from, e.head_nip,
                )  # fmt: skip
            case EmployeeRegistered() as e:
                await db.execute(
                    "INSERT INTO employees VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    e.nip, e.name, e.position, e.unit_code, e.job_type.value,
                )  # fmt: skip
            case other:
                await _apply_skp(db, other, event.stream_version)


async def _apply_skp(db: Connection, event: object, stream_version: int) -> None:
    match event:
        case SkpDrafted() as e:
            await db.execute(
                "INSERT INTO skps (skp_id, nip, year, approach, status) VALUES ($1, $2, $3, $4,"
                " 'DRAFT') ON CONFLICT DO NOTHING",
                e.skp_id, e.nip, e.year, e.approach.value,
            )  # fmt: skip
        case RhkAdded() | RhkChanged() as e:
            await db.execute(
                "INSERT INTO rhk VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (skp_id, rhk_id)"
                " DO UPDATE SET text = $3, kind = $4, parent_rhk_id = $5, perspective = $6",
                e.skp_id, e.rhk_id, e.text, e.kind.value, e.parent_rhk_id,
                e.perspective.value if e.perspective else None, stream_version,
            )  # fmt: skip
            await db.execute(
                "DELETE FROM indicators WHERE skp_id = $1 AND rhk_id = $2", e.skp_id, e.rhk_id
            )
            await db.executemany(
                "INSERT INTO indicators VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                [
                    (e.skp_id, e.rhk_id, i.indicator_id, i.aspect.value, i.text, i.target_value,
                     i.target_unit, i.target_text, n)
                    for n, i in enumerate(e.indicators)
                ],
            )  # fmt: skip
        case RhkRemoved() as e:
            await db.execute(
                "DELETE FROM indicators WHERE skp_id = $1 AND rhk_id = $2", e.skp_id, e.rhk_id
            )
            await db.execute(
                "DELETE FROM rhk WHERE skp_id = $1 AND rhk_id = $2", e.skp_id, e.rhk_id
            )
        case SkpApproved() as e:
            await db.execute(
                "UPDATE skps SET status = 'APPROVED', version = $2, approved_by = $3"
                " WHERE skp_id = $1",
                e.skp_id, e.version, e.approved_by,
            )  # fmt: skip
        case SkpSubmitted() | SkpReturned() | SkpRevisionOpened() as e:
            status = "SUBMITTED" if isinstance(e, SkpSubmitted) else "DRAFT"
            await db.execute(
                "UPDATE skps SET status = $2, version = $3 WHERE skp_id = $1",
                e.skp_id, status, e.version,
            )  # fmt: skip


class JournalFacts(Projection):
    name = "appraisal.journal"
    tables = """
    CREATE TABLE entries (
        entry_id text PRIMARY KEY, nip text NOT NULL, skp_id text NOT NULL,
        indicator_id text NOT NULL, date date NOT NULL, description text NOT NULL,
        realised_value double precision, realised_text text, evidence jsonb NOT NULL,
        corrected boolean NOT NULL DEFAULT false
    );
    CREATE INDEX entries_of_indicator ON entries (skp_id, indicator_id, date);
    CREATE TABLE action_plans (
        plan_id text PRIMARY KEY, nip text NOT NULL, skp_id text NOT NULL,
        indicator_id text NOT NULL, period text NOT NULL,
        planned_value double precision, planned_text text
    );
    CREATE INDEX plans_of_skp ON action_plans (skp_id, period);
    """

    reads = ("journal",)

    async def apply(self, db: Connection, event: Envelope) -> None:
        if event.event_type not in CATALOG:
            return
        match event.decode(CATALOG):
            case EntryRecorded() as e:
                await db.execute(
                    "INSERT INTO entries VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)"
                    " ON CONFLICT DO NOTHING",
                    e.entry_id, e.nip, e.skp_id, e.indicator_id, e.date, e.description,
                    e.realised_value, e.realised_text, _evidence(e.evidence),
                )  # fmt: skip
            case EntryCorrected() as e:
                await db.execute(
                    "UPDATE entries SET date = $2, description = $3, realised_value = $4,"
                    " realised_text = $5, evidence = $6::jsonb, corrected = true"
                    " WHERE entry_id = $1",
                    e.entry_id, e.date, e.description, e.realised_value, e.realised_text,
                    _evidence(e.evidence),
                )  # fmt: skip
            case ActionPlanSet() as e:
                await db.execute(
                    "INSERT INTO action_plans VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    " ON CONFLICT (plan_id) DO UPDATE SET planned_value = $6, planned_text = $7",
                    e.plan_id, e.nip, e.skp_id, e.indicator_id, e.period, e.planned_value,
                    e.planned_text,
                )  # fmt: skip


def _evidence(evidence: list[Evidence]) -> str:
    return orjson.dumps([item.model_dump(mode="json") for item in evidence]).decode()


class Results(Projection):
    name = "appraisal.results"
    tables = """
    CREATE TABLE results (
        nip text NOT NULL, year integer NOT NULL, period text NOT NULL,
        hasil_kerja text NOT NULL, perilaku_kerja text NOT NULL, predikat text NOT NULL,
        rated_by text NOT NULL, appeal text,
        PRIMARY KEY (nip, year, period)
    );
    CREATE TABLE organisation_predicates (
        unit_code text NOT NULL, year integer NOT NULL, period text NOT NULL,
        predikat text NOT NULL, PRIMARY KEY (unit_code, year, period)
    );
    """

    reads = ("appraisal",)

    async def apply(self, db: Connection, event: Envelope) -> None:
        if event.event_type not in CATALOG:
            return
        match event.decode(CATALOG):
            case RatingGiven() as e:
                await db.execute(
                    "INSERT INTO results VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)"
                    " ON CONFLICT (nip, year, period) DO UPDATE SET hasil_kerja = $4,"
                    " perilaku_kerja = $5, predikat = $6, rated_by = $7",
                    e.nip, e.year, e.period, e.hasil_kerja.value, e.perilaku_kerja.value,
                    e.predikat.value, e.rated_by,
                )  # fmt: skip
            case AppealFiled() as e:
                await db.execute(
                    "UPDATE results SET appeal = 'FILED' WHERE (nip, year, period) = ($1, $2, $3)",
                    e.nip, e.year, e.period,
                )  # fmt: skip
            case AppealDecided() as e:
                await db.execute(
                    "UPDATE results SET hasil_kerja = $4, perilaku_kerja = $5, predikat = $6,"
                    " appeal = $7 WHERE (nip, year, period) = ($1, $2, $3)",
                    e.nip, e.year, e.period, e.hasil_kerja.value, e.perilaku_kerja.value,
                    e.predikat.value, e.outcome.value,
                )  # fmt: skip
            case OrganisationPredicateSet() as e:
                await db.execute(
                    "INSERT INTO organisation_predicates VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT (unit_code, year, period) DO UPDATE SET predikat = $4",
                    e.unit_code, e.year, e.period, e.predikat.value,
                )  # fmt: skip
