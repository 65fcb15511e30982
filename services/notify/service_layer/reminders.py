"""The reminder job: who must be told, on a given day, by the three rules, each reminder at
most once per rule, person and period however often the job runs or restarts. "Once" is the
event store's: a reminder is the only event its stream can ever hold (expected version 0),
so a second run, or a concurrent one, finds the stream taken and sends nothing."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import asyncpg
import structlog

from services.notify.projections import Inbox
from shared.contracts.notify import ReminderRule, ReminderSent
from shared.projections import roster_facts
from shared.store.db import Connection
from shared.store.errors import ConcurrencyError
from shared.store.event_store import CommandContext, EventStore

log = structlog.get_logger(__name__)
ANNUAL = "ANNUAL"


@dataclass(frozen=True)
class ReminderPolicy:
    """When each rule speaks: days before a period's end; the SKP deadline of a year."""

    days_before_period_end: int = 5
    skp_deadline: tuple[int, int] = (1, 31)  # month, day

    def deadline(self, year: int) -> date:
        return date(year, *self.skp_deadline)


@dataclass(frozen=True)
class Due:
    rule: ReminderRule
    nip: str
    year: int
    period: str
    due: date
    details: dict[str, str] = field(default_factory=dict)

    @property
    def stream_id(self) -> str:
        return f"reminder-{self.rule.value}-{self.nip}-{self.year}-{self.period}"


async def send_reminders(
    pool: asyncpg.Pool, store: EventStore, inbox: Inbox, now: datetime, policy: ReminderPolicy
) -> int:
    """Record every reminder due at `now` (an aware time: its date, in its own zone, is the
    day the rules look at) that was not recorded before; how many were."""
    today = now.date()
    due = await reminders_due(pool, inbox, today, policy)
    taken = {r["stream_id"] for r in await pool.fetch(
        f"SELECT stream_id FROM {store.schema}.streams WHERE stream_id = ANY($1::text[])",
        [d.stream_id for d in due],
    )}  # fmt: skip
    context = CommandContext("notify:reminders", f"reminders-{today}", now)
    sent = 0
    for reminder in (d for d in due if d.stream_id not in taken):
        event = ReminderSent(
            rule=reminder.rule, nip=reminder.nip, year=reminder.year, period=reminder.period,
            due=reminder.due, details=reminder.details,
        )  # fmt: skip
        try:
            await store.append(
                reminder.stream_id, 0, [event], subject=reminder.nip, context=context
            )
            sent += 1
        except ConcurrencyError:
            continue  # another run sent it a moment ago
    log.info("reminders.sent", day=today.isoformat(), due=len(due), sent=sent)
    return sent


async def reminders_due(
    pool: asyncpg.Pool, inbox: Inbox, today: date, policy: ReminderPolicy
) -> list[Due]:
    """Every reminder the rules give on `today`, sent before or not. Set-based: an agency of
    300,000 has tens of millions of entry days, which stay in the database."""
    facts = _Facts(f'"{inbox.schema()}"')
    due: list[Due] = []
    async with pool.acquire() as db, db.transaction(isolation="repeatable_read"):
        for year, periods in await facts.years(db):
            for code, (starts, ends) in periods.items():
                warn_from = ends - timedelta(days=policy.days_before_period_end)
                if code != ANNUAL and warn_from <= today <= ends:
                    due += await facts.without_entries(db, year, code, (starts, ends))
                if ends < today:
                    due += await facts.unrated(db, year, code, ends)
            if policy.deadline(year) < today and today.year == year:
                due += await facts.without_approved_skp(db, year, policy.deadline(year))
    return due


class _Facts:
    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def years(self, db: Connection) -> list[tuple[int, dict[str, tuple[date, date]]]]:
        found = []
        for row in await db.fetch(f"SELECT year, periods FROM {self.schema}.years ORDER BY year"):
            periods = roster_facts.periods_from(row["periods"])
            periods[ANNUAL] = (date(row["year"], 1, 1), date(row["year"], 12, 31))
            found.append((row["year"], periods))
        return found

    async def without_entries(
        self, db: Connection, year: int, period: str, span: tuple[date, date]
    ) -> list[Due]:
        """Pegawai with an approved SKP and no entry dated in the period."""
        rows = await db.fetch(
            f"SELECT s.nip FROM {self.schema}.skps s WHERE s.status = 'APPROVED' AND s.year = $1"
            f" AND NOT EXISTS (SELECT 1 FROM {self.schema}.entry_days d"
            "  WHERE d.nip = s.nip AND d.day BETWEEN $2 AND $3)",
            year, *span,
        )  # fmt: skip
        rule = ReminderRule.NO_ENTRY_BEFORE_PERIOD_END
        return [Due(rule, r["nip"], year, period, span[1]) for r in rows]

    async def unrated(self, db: Connection, year: int, period: str, ends: date) -> list[Due]:
        """Per pejabat penilai on the period's last day: the subordinates (with an approved
        SKP) they have not rated for it."""
        rows = await db.fetch(
            f"SELECT r.supervisor_nip, array_agg(s.nip ORDER BY s.nip) AS nips"
            f" FROM {self.schema}.skps s CROSS JOIN LATERAL (SELECT supervisor_nip"
            f"  FROM {self.schema}.assignments a WHERE a.nip = s.nip AND a.effective_from <= $3"
            "  ORDER BY a.effective_from DESC LIMIT 1) r"
            " WHERE s.status = 'APPROVED' AND s.year = $1 AND NOT EXISTS (SELECT 1"
            f"  FROM {self.schema}.evaluations e"
            "  WHERE e.nip = s.nip AND e.year = $1 AND e.period = $2)"
            " GROUP BY r.supervisor_nip",
            year, period, ends,
        )  # fmt: skip
        rule = ReminderRule.UNRATED_SUBORDINATES
        return [
            Due(rule, r["supervisor_nip"], year, period, ends, {"nips": ", ".join(r["nips"])})
            for r in rows
        ]

    async def without_approved_skp(self, db: Connection, year: int, deadline: date) -> list[Due]:
        rows = await db.fetch(
            f"SELECT e.nip FROM {self.schema}.employees e WHERE NOT EXISTS (SELECT 1"
            f" FROM {self.schema}.skps s WHERE s.nip = e.nip AND s.year = $1"
            " AND s.status = 'APPROVED')",
            year,
        )
        return [Due(ReminderRule.NO_APPROVED_SKP, r["nip"], year, "SKP", deadline) for r in rows]
