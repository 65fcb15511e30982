"""Queries on the journal's read model (eventually consistent with its store): entries of a
pegawai, year and period with their history and feedback, the realised totals, and the action
plans beside them."""

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.journal.domain.view import SkpView
from services.journal.projections import JournalEntries
from services.journal.targets_view import TargetsViewReader
from shared.domain import readers
from shared.domain.errors import RuleViolation
from shared.domain.identity import Identity

SCHEMA = f'"{JournalEntries().schema()}"'


async def check_may_read(view: TargetsViewReader, nip: str, reader: Identity) -> None:
    await readers.check_may_read(nip, reader, view.raters, what="their journal")


async def entries(
    pool: asyncpg.Pool, nip: str, year: int, span: tuple[date, date] | None
) -> list[dict[str, Any]]:
    first, last = span or (date(year, 1, 1), date(year, 12, 31))
    rows = await pool.fetch(
        f"SELECT e.*, coalesce((SELECT jsonb_agg(to_jsonb(v) - 'entry_id' ORDER BY v.version)"
        f"  FROM {SCHEMA}.entry_versions v WHERE v.entry_id = e.entry_id), '[]') AS history,"
        f" coalesce((SELECT jsonb_agg(to_jsonb(f) - 'entry_id' ORDER BY f.given_at)"
        f"  FROM {SCHEMA}.feedback f WHERE f.entry_id = e.entry_id), '[]') AS feedback"
        f" FROM {SCHEMA}.entries e WHERE e.nip = $1 AND e.date BETWEEN $2 AND $3"
        " ORDER BY e.date, e.recorded_at",
        nip, first, last,
    )  # fmt: skip
    return [
        {
            **{k: v for k, v in dict(row).items() if k not in ("evidence", "history", "feedback")},
            "evidence": orjson.loads(row["evidence"]),
            "history": orjson.loads(row["history"]),
            "feedback": orjson.loads(row["feedback"]),
        }
        for row in rows
    ]


def period_span(skp: SkpView, period: str | None) -> tuple[date, date] | None:
    if period is None:
        return None
    if period not in skp.periods:
        raise RuleViolation("period", f"{period} is not a period of {skp.year}")
    return skp.periods[period]


async def realised_totals(pool: asyncpg.Pool, skp: SkpView) -> list[dict[str, Any]]:
    """Per indicator and period of the year: the sum of the entries' current values."""
    rows = await pool.fetch(
        f"SELECT indicator_id, date, realised_value FROM {SCHEMA}.entries WHERE skp_id = $1",
        skp.skp_id,
    )
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])
    for row in rows:
        for code, (first, last) in skp.periods.items():
            if first <= row["date"] <= last:
                total = totals[(row["indicator_id"], code)]
                total[0] += row["realised_value"] or 0.0
                total[1] += 1
    return [
        {"indicator_id": indicator, "period": code, "realised": total, "entries": int(count)}
        for (indicator, code), (total, count) in sorted(totals.items())
    ]


async def action_plans(
    pool: asyncpg.Pool, skp: SkpView, period: str | None
) -> list[dict[str, Any]]:
    """Each plan of the SKP (of one period, or all), beside the realised total of its indicator
    in its period, so plan and realisation compare."""
    if period is not None:
        period_span(skp, period)  # an unknown period is a 422, not an empty list
    rows = await pool.fetch(
        "SELECT plan_id, skp_id, indicator_id, period, planned_value, planned_text, version,"
        f" set_at FROM {SCHEMA}.action_plans WHERE skp_id = $1"
        " AND ($2::text IS NULL OR period = $2) ORDER BY period, indicator_id",
        skp.skp_id, period,
    )  # fmt: skip
    totals = {(t["indicator_id"], t["period"]): t for t in await realised_totals(pool, skp)}
    none_yet = {"realised": 0.0, "entries": 0}
    plans = []
    for row in rows:
        total = totals.get((row["indicator_id"], row["period"]), none_yet)
        plans.append({**dict(row), "realised": total["realised"], "entries": total["entries"]})
    return plans
