"""The targets read model, fed from `kinerja.targets.v1`: who is where, each SKP and its RHK,
and each approved version kept. The cascade tree and the status board are queries on it."""

import orjson

from shared.contracts.catalog import full_catalog
from shared.contracts.targets import (
    BehaviourExpectationsSet,
    EmployeeRegistered,
    RhkAdded,
    RhkChanged,
    RhkRemoved,
    SkpApproved,
    SkpDrafted,
    SkpReturned,
    SkpRevisionOpened,
    SkpSubmitted,
    SupervisorAssigned,
    UnitCreated,
)
from shared.events.envelope import Envelope
from shared.projections.projection import Projection
from shared.store.db import Connection

CATALOG = full_catalog()


class TargetsBoard(Projection):
    name = "targets.board"
    tables = """
    CREATE TABLE units (code text PRIMARY KEY, name text NOT NULL, parent_code text);
    CREATE TABLE employees (
        nip text PRIMARY KEY, name text NOT NULL, position text NOT NULL,
        unit_code text NOT NULL, job_type text NOT NULL
    );
    CREATE TABLE assignments (
        nip text NOT NULL, supervisor_nip text NOT NULL, effective_from date NOT NULL,
        PRIMARY KEY (nip, effective_from)
    );
    CREATE TABLE skps (
        skp_id text PRIMARY KEY, nip text NOT NULL, year integer NOT NULL,
        approach text NOT NULL, status text NOT NULL, skp_version integer NOT NULL,
        expectations jsonb NOT NULL DEFAULT '{}', updated_at timestamptz NOT NULL,
        UNIQUE (nip, year)
    );
    CREATE TABLE rhk (
        rhk_id text PRIMARY KEY, skp_id text NOT NULL, text text NOT NULL, kind text NOT NULL,
        parent_rhk_id text, perspective text, indicators jsonb NOT NULL,
        -- the stream version that added it: the order within an SKP, and the same in a
        -- replay (a sequence would number RHK in whatever order partitions interleave)
        position bigint NOT NULL
    );
    CREATE INDEX rhk_of_skp ON rhk (skp_id);
    CREATE INDEX rhk_by_parent ON rhk (parent_rhk_id);
    -- each approved version as it stood: revisions never erase what was agreed
    CREATE TABLE approved_versions (
        skp_id text NOT NULL, skp_version integer NOT NULL, approved_by text NOT NULL,
        approved_at timestamptz NOT NULL, document jsonb NOT NULL,
        PRIMARY KEY (skp_id, skp_version)
    );
    """

    reads = ("targets",)

    async def apply(self, db: Connection, event: Envelope) -> None:
        if event.event_type not in CATALOG:
            return  # a type this code does not know yet: nothing here depends on it
        match event.decode(CATALOG):
            case UnitCreated() as e:
                await db.execute(
                    "INSERT INTO units VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    e.code, e.name, e.parent_code,
                )  # fmt: skip
            case EmployeeRegistered() as e:
                await db.execute(
                    "INSERT INTO employees VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    e.nip, e.name, e.position, e.unit_code, e.job_type.value,
                )  # fmt: skip
            case SupervisorAssigned() as e:
                await db.execute(
                    "INSERT INTO assignments VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    e.nip, e.supervisor_nip, e.effective_from,
                )  # fmt: skip
            case SkpDrafted() as e:
                await db.execute(
                    "INSERT INTO skps (skp_id, nip, year, approach, status, skp_version,"
                    " updated_at) VALUES ($1, $2, $3, $4, 'DRAFT', 1, $5)",
                    e.skp_id, e.nip, e.year, e.approach.value, event.recorded_at,
                )  # fmt: skip
            case RhkAdded() | RhkChanged() as e:
                await db.execute(
                    "INSERT INTO rhk (rhk_id, skp_id, text, kind, parent_rhk_id, perspective,"
                    " indicators, position) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)"
                    " ON CONFLICT (rhk_id) DO UPDATE SET text = EXCLUDED.text,"
                    " kind = EXCLUDED.kind, parent_rhk_id = EXCLUDED.parent_rhk_id,"
                    " perspective = EXCLUDED.perspective,"
                    " indicators = EXCLUDED.indicators",
                    e.rhk_id, e.skp_id, e.text, e.kind.value, e.parent_rhk_id,
                    e.perspective.value if e.perspective else None,
                    orjson.dumps([i.model_dump(mode="json") for i in e.indicators]).decode(),
                    event.stream_version,
                )  # fmt: skip
            case RhkRemoved() as e:
                await db.execute("DELETE FROM rhk WHERE rhk_id = $1", e.rhk_id)
            case BehaviourExpectationsSet() as e:
                await db.execute(
                    "UPDATE skps SET expectations = $2::jsonb WHERE skp_id = $1",
                    e.skp_id, orjson.dumps(e.expectations).decode(),
                )  # fmt: skip
            case SkpSubmitted() as e:
                await _status(db, e.skp_id, "SUBMITTED", e.version, event)
            case SkpReturned() as e:
                await _status(db, e.skp_id, "DRAFT", e.version, event)
            case SkpRevisionOpened() as e:
                await _status(db, e.skp_id, "DRAFT", e.version, event)
            case SkpApproved() as e:
                await _status(db, e.skp_id, "APPROVED", e.version, event)
                await db.execute(
                    "INSERT INTO approved_versions SELECT s.skp_id, s.skp_version, $2, $3,"
                    " jsonb_build_object('expectations', s.expectations, 'rhk', coalesce(("
                    "  SELECT jsonb_agg(to_jsonb(r) - 'position' ORDER BY r.position) FROM rhk r"
                    "  WHERE r.skp_id = s.skp_id), '[]'::jsonb))"
                    " FROM skps s WHERE s.skp_id = $1 ON CONFLICT DO NOTHING",
                    e.skp_id, e.approved_by, event.occurred_at,
                )  # fmt: skip


async def _status(db: Connection, skp_id: str, status: str, version: int, event: Envelope) -> None:
    await db.execute(
        "UPDATE skps SET status = $2, skp_version = $3, updated_at = $4 WHERE skp_id = $1",
        skp_id, status, version, event.recorded_at,
    )  # fmt: skip
