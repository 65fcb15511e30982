"""The journal's read model, fed from its own topic: each entry as it now reads, every version
it had (the recorded one first), the feedback on it, and each action plan as last set."""

from collections.abc import Sequence

import orjson

from shared.contracts.catalog import full_catalog
from shared.contracts.journal import (
    ActionPlanSet,
    EntryCorrected,
    EntryRecorded,
    Evidence,
    FeedbackGiven,
)
from shared.events.envelope import Envelope
from shared.events.model import DomainEvent
from shared.projections.projection import Projection
from shared.store.db import Connection

CATALOG = full_catalog()


class JournalEntries(Projection):
    name = "journal.entries"
    tables = """
    CREATE TABLE entries (
        entry_id text PRIMARY KEY, nip text NOT NULL, skp_id text NOT NULL,
        rhk_id text NOT NULL, indicator_id text NOT NULL, year integer NOT NULL,
        date date NOT NULL, description text NOT NULL, realised_value double precision,
        realised_text text, evidence jsonb NOT NULL, recorded_at timestamptz NOT NULL,
        corrections integer NOT NULL DEFAULT 0
    );
    CREATE INDEX entries_of_pegawai ON entries (nip, year, date);
    -- every version of an entry, the recorded one as version 1: corrections never erase
    CREATE TABLE entry_versions (
        entry_id text NOT NULL, version integer NOT NULL, date date NOT NULL,
        description text NOT NULL, realised_value double precision, realised_text text,
        evidence jsonb NOT NULL, recorded_at timestamptz NOT NULL, recorded_by text NOT NULL,
        PRIMARY KEY (entry_id, version)
    );
    CREATE TABLE feedback (
        entry_id text NOT NULL, given_by text NOT NULL, text text NOT NULL,
        given_at timestamptz NOT NULL
    );
    CREATE INDEX feedback_of_entry ON feedback (entry_id);
    -- rencana aksi as last set; version is the plan stream's, as POST /action-plans answered
    CREATE TABLE action_plans (
        plan_id text PRIMARY KEY, nip text NOT NULL, skp_id text NOT NULL,
        indicator_id text NOT NULL, period text NOT NULL, planned_value double precision,
        planned_text text, version integer NOT NULL, set_at timestamptz NOT NULL,
        set_by text NOT NULL
    );
    CREATE INDEX action_plans_of_skp ON action_plans (skp_id, period);
    """

    reads = ("journal",)

    async def apply_all(self, db: Connection, events: Sequence[Envelope]) -> None:
        """Runs of new entries (the month-end bulk) in two statements; anything else in order."""
        run: list[tuple[EntryRecorded, Envelope]] = []
        for event in events:
            decoded = event.decode(CATALOG) if event.event_type in CATALOG else None
            if isinstance(decoded, EntryRecorded):
                run.append((decoded, event))
                continue
            await _insert_entries(db, run)
            run = []
            if decoded is not None:
                await self._apply_decoded(db, decoded, event)
        await _insert_entries(db, run)

    async def apply(self, db: Connection, event: Envelope) -> None:
        if event.event_type in CATALOG:
            await self._apply_decoded(db, event.decode(CATALOG), event)

    async def _apply_decoded(self, db: Connection, decoded: DomainEvent, event: Envelope) -> None:
        match decoded:
            case EntryRecorded() as e:
                await _insert_entries(db, [(e, event)])
            case EntryCorrected() as e:
                await db.execute(
                    "UPDATE entries SET date = $2, description = $3, realised_value = $4,"
                    " realised_text = $5, evidence = $6::jsonb, corrections = corrections + 1"
                    " WHERE entry_id = $1",
                    e.entry_id, e.date, e.description, e.realised_value, e.realised_text,
                    _json(e.evidence),
                )  # fmt: skip
                await _version(db, e, event)
            case FeedbackGiven() as e:
                await db.execute(
                    "INSERT INTO feedback VALUES ($1, $2, $3, $4)",
                    e.entry_id, e.given_by, e.text, event.occurred_at,
                )  # fmt: skip
            case ActionPlanSet() as e:
                await db.execute(
                    "INSERT INTO action_plans VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    " ON CONFLICT (plan_id) DO UPDATE SET planned_value = $6,"
                    " planned_text = $7, version = $8, set_at = $9, set_by = $10",
                    e.plan_id, e.nip, e.skp_id, e.indicator_id, e.period, e.planned_value,
                    e.planned_text, event.stream_version, event.occurred_at, event.actor,
                )  # fmt: skip


async def _insert_entries(db: Connection, run: list[tuple[EntryRecorded, Envelope]]) -> None:
    """New entries and their first versions in one statement: each value sent and each
    evidence parsed once."""
    if not run:
        return
    await db.execute(
        "WITH recorded AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
        " $5::text[], $6::date[], $7::text[], $8::float8[], $9::text[], $10::jsonb[],"
        " $11::timestamptz[], $12::text[]) AS r(entry_id, nip, skp_id, rhk_id, indicator_id,"
        " date, description, realised_value, realised_text, evidence, recorded_at, actor)),"
        " entry AS (INSERT INTO entries (entry_id, nip, skp_id, rhk_id, indicator_id, year,"
        " date, description, realised_value, realised_text, evidence, recorded_at)"
        " SELECT entry_id, nip, skp_id, rhk_id, indicator_id, extract(year FROM date), date,"
        " description, realised_value, realised_text, evidence, recorded_at FROM recorded)"
        " INSERT INTO entry_versions SELECT entry_id, 1, date, description, realised_value,"
        " realised_text, evidence, recorded_at, actor FROM recorded",
        *zip(*(_entry_row(e, event) for e, event in run), strict=True),
    )


def _entry_row(e: EntryRecorded, event: Envelope) -> tuple[object, ...]:
    return (
        e.entry_id, e.nip, e.skp_id, e.rhk_id, e.indicator_id, e.date, e.description,
        e.realised_value, e.realised_text, _json(e.evidence), event.recorded_at, event.actor,
    )  # fmt: skip


async def _version(db: Connection, e: EntryRecorded | EntryCorrected, event: Envelope) -> None:
    await db.execute(
        "INSERT INTO entry_versions SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5,"
        " $6::jsonb, $7, $8 FROM entry_versions WHERE entry_id = $1",
        e.entry_id, e.date, e.description, e.realised_value, e.realised_text,
        _json(e.evidence), event.recorded_at, event.actor,
    )  # fmt: skip


def _json(evidence: list[Evidence]) -> str:
    return orjson.dumps([item.model_dump(mode="json") for item in evidence]).decode()
