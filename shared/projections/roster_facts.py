"""The roster facts every consumer of `kinerja.targets.v1` keeps in its own read model: who
rated whom from when, and the periods of each year. One definition, so the journal,
appraisal and notify read them alike; each keeps them in its own schema, rebuilt by its own
replay, and nothing is asked of the targets service."""

from datetime import date

import asyncpg
import orjson

from shared.contracts.targets import PerformanceYearOpened, SupervisorAssigned
from shared.domain.dated import DatedHistory
from shared.events.model import DomainEvent
from shared.store.db import Connection

TABLES = """
CREATE TABLE assignments (
    nip text NOT NULL, effective_from date NOT NULL, supervisor_nip text NOT NULL,
    PRIMARY KEY (nip, effective_from)
);
CREATE INDEX assignments_of_supervisor ON assignments (supervisor_nip);
CREATE TABLE years (year integer PRIMARY KEY, frequency text NOT NULL, periods jsonb NOT NULL);
"""

Periods = dict[str, tuple[date, date]]


async def apply_roster_fact(db: Connection, event: DomainEvent) -> bool:
    """Record the event if it is a roster fact; whether it was."""
    match event:
        case SupervisorAssigned():
            await db.execute(
                "INSERT INTO assignments VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                event.nip, event.effective_from, event.supervisor_nip,
            )  # fmt: skip
        case PerformanceYearOpened():
            periods = {p.code: [p.starts.isoformat(), p.ends.isoformat()] for p in event.periods}
            await db.execute(
                "INSERT INTO years VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING",
                event.year, event.frequency.value, orjson.dumps(periods).decode(),
            )  # fmt: skip
        case _:
            return False
    return True


async def raters(db: asyncpg.Pool | Connection, schema: str, nip: str) -> DatedHistory:
    """The pejabat penilai of `nip` from each date on, as the projection in `schema` saw it."""
    rows = await db.fetch(
        f'SELECT effective_from, supervisor_nip FROM "{schema}".assignments WHERE nip = $1', nip
    )
    return DatedHistory(tuple((r["effective_from"], r["supervisor_nip"]) for r in rows))


def periods_from(stored: str | None) -> Periods:
    """The periods of a year as stored in `years.periods`."""
    spans: dict[str, list[str]] = orjson.loads(stored) if stored else {}
    return {code: (date.fromisoformat(a), date.fromisoformat(b)) for code, (a, b) in spans.items()}
