"""The worksheet of a pegawai's period: each indicator of their SKP with its target, its
action plan, what the entries of the period realised, the achievement, and the entries behind
it. Joined from the projections when read, so an entry that arrived before its SKP counts as
soon as the SKP is seen."""

from collections import defaultdict
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.appraisal.projections import JournalFacts, TargetsFacts
from shared.contracts.appraisal import ANNUAL
from shared.domain.errors import NotFound
from shared.store.db import Connection

TARGETS = f'"{TargetsFacts().schema()}"'
JOURNAL = f'"{JournalFacts().schema()}"'


async def skp_of(db: asyncpg.Pool | Connection, nip: str, year: int) -> asyncpg.Record:
    """The pegawai's SKP of the year as appraisal has seen it (the approved one first)."""
    row = await db.fetchrow(
        f"SELECT * FROM {TARGETS}.skps WHERE nip = $1 AND year = $2"
        " ORDER BY status = 'APPROVED' DESC, skp_id LIMIT 1",
        nip, year,
    )  # fmt: skip
    if row is None:
        raise NotFound(
            f"appraisal has seen no SKP of {nip} for {year} (if it was just drafted, retry)"
        )
    return row


async def worksheet(
    pool: asyncpg.Pool, nip: str, year: int, period: str, span: tuple[date, date]
) -> dict[str, Any]:
    async with pool.acquire() as db, db.transaction(isolation="repeatable_read"):
        skp = await skp_of(db, nip, year)
        indicators = await db.fetch(
            f"SELECT i.*, r.text AS rhk_text, r.kind FROM {TARGETS}.indicators i"
            f" JOIN {TARGETS}.rhk r USING (skp_id, rhk_id) WHERE i.skp_id = $1"
            " ORDER BY r.position, i.position",
            skp["skp_id"],
        )
        entries = await db.fetch(
            f"SELECT * FROM {JOURNAL}.entries WHERE skp_id = $1 AND date BETWEEN $2 AND $3"
            " ORDER BY date, entry_id",
            skp["skp_id"], *span,
        )  # fmt: skip
        plans = await db.fetch(
            f"SELECT * FROM {JOURNAL}.action_plans WHERE skp_id = $1"
            + ("" if period == ANNUAL else " AND period = $2")
            + " ORDER BY period",
            *((skp["skp_id"],) if period == ANNUAL else (skp["skp_id"], period)),
        )
    by_indicator: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for entry in entries:
        by_indicator[entry["indicator_id"]].append(entry)
    plans_of: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for plan in plans:
        plans_of[plan["indicator_id"]].append(plan)
    return {
        "nip": nip, "year": year, "period": period,
        "starts": span[0], "ends": span[1],
        "skp_id": skp["skp_id"], "skp_status": skp["status"], "approach": skp["approach"],
        "indicators": [
            _line(i, by_indicator[i["indicator_id"]], plans_of[i["indicator_id"]])
            for i in indicators
        ],
    }  # fmt: skip


def _line(
    indicator: asyncpg.Record, entries: list[asyncpg.Record], plans: list[asyncpg.Record]
) -> dict[str, Any]:
    values = [e["realised_value"] for e in entries if e["realised_value"] is not None]
    realised = sum(values) if values else None
    target = indicator["target_value"]
    return {
        "rhk_id": indicator["rhk_id"], "rhk_text": indicator["rhk_text"],
        "rhk_kind": indicator["kind"], "indicator_id": indicator["indicator_id"],
        "aspect": indicator["aspect"], "text": indicator["text"],
        "target_value": target, "target_unit": indicator["target_unit"],
        "target_text": indicator["target_text"],
        "action_plans": [
            {"period": p["period"], "planned_value": p["planned_value"],
             "planned_text": p["planned_text"]}
            for p in plans
        ],
        "realised_value": realised,
        # realised against the year's target; for WAKTU and BIAYA the pejabat penilai reads
        # the figures: less can be better there, so no single formula judges them
        "achievement_percent": (
            round(100 * realised / target, 2) if realised is not None and target else None
        ),
        "entries": [_entry(e) for e in entries],
    }  # fmt: skip


def _entry(entry: asyncpg.Record) -> dict[str, Any]:
    return {
        "entry_id": entry["entry_id"], "date": entry["date"],
        "description": entry["description"], "realised_value": entry["realised_value"],
        "realised_text": entry["realised_text"], "evidence": orjson.loads(entry["evidence"]),
        "corrected": entry["corrected"],
    }  # fmt: skip
