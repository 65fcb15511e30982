"""A projection for the kit's tests: per subject, how many events and the sum of targets."""

import json
import os
from collections.abc import Sequence

from shared.events.envelope import Envelope
from shared.projections.projection import Projection
from shared.store.db import Connection

POISON = "poison"


class Tally(Projection):
    tables = """
    CREATE TABLE tally (
        subject     text PRIMARY KEY,
        events      integer NOT NULL,
        target_sum  bigint NOT NULL
    );
    -- a second apply of one event breaks this key: double counting cannot pass unseen
    CREATE TABLE applied (event_id uuid PRIMARY KEY);
    -- the 'fix' for the poison indicator: once a row is here, poison applies like any event
    CREATE TABLE cured (indicator text PRIMARY KEY);
    """

    def __init__(self, name: str, topic: str) -> None:
        self.name = name
        self.topics = (topic,)

    async def apply(self, db: Connection, event: Envelope) -> None:
        indicator = event.payload.get("indicator")
        if indicator == POISON and not await db.fetchval(
            "SELECT 1 FROM cured WHERE indicator = $1", indicator
        ):
            raise ValueError(f"cannot tally {indicator!r} yet")
        await db.execute("INSERT INTO applied (event_id) VALUES ($1)", event.event_id)
        await db.execute(
            "INSERT INTO tally (subject, events, target_sum) VALUES ($1, 1, $2)"
            " ON CONFLICT (subject) DO UPDATE SET events = tally.events + 1,"
            " target_sum = tally.target_sum + EXCLUDED.target_sum",
            event.subject,
            event.payload.get("target", 0),
        )


def from_environment() -> Tally:
    """For subprocess runs (`-p tests.support.projections:from_environment`)."""
    return Tally(os.environ["TALLY_NAME"], os.environ["TALLY_TOPIC"])


class BulkTally(Tally):
    """The same read model, applied a batch at a time in three statements: the shape a
    projection takes when replay speed matters."""

    async def apply_all(self, db: Connection, events: Sequence[Envelope]) -> None:
        if any(event.payload.get("indicator") == POISON for event in events):
            for event in events:
                await self.apply(db, event)
            return
        await db.execute(
            "INSERT INTO applied (event_id) SELECT * FROM unnest($1::uuid[])",
            [event.event_id for event in events],
        )
        totals: dict[str, list[int]] = {}
        for event in events:
            total = totals.setdefault(event.subject, [0, 0])
            total[0] += 1
            total[1] += int(event.payload.get("target", 0))
        await db.execute(
            "INSERT INTO tally (subject, events, target_sum)"
            " SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])"
            " ON CONFLICT (subject) DO UPDATE SET events = tally.events + EXCLUDED.events,"
            " target_sum = tally.target_sum + EXCLUDED.target_sum",
            list(totals),
            [total[0] for total in totals.values()],
            [total[1] for total in totals.values()],
        )


def bulk_from_environment() -> BulkTally:
    return BulkTally(os.environ["TALLY_NAME"], os.environ["TALLY_TOPIC"])


class Notes(Projection):
    """Each event's indicator as text, its target as an integer and its whole payload as jsonb:
    an event PostgreSQL cannot store fails here as it fails in the services' read models."""

    tables = """
    CREATE TABLE notes (
        event_id   uuid PRIMARY KEY,
        indicator  text NOT NULL,
        target     integer NOT NULL,
        payload    jsonb NOT NULL
    );
    """

    def __init__(self, name: str, topic: str) -> None:
        self.name = name
        self.topics = (topic,)

    async def apply(self, db: Connection, event: Envelope) -> None:
        await db.execute(
            "INSERT INTO notes VALUES ($1, $2, $3, $4::jsonb)",
            event.event_id,
            event.payload["indicator"],
            event.payload.get("target", 0),
            json.dumps(event.payload),
        )
