"""Queries on the projected read model (eventually consistent with the store): the cascade
tree of a unit and the status board of a unit and year."""

from datetime import date
from typing import Any

import asyncpg
import orjson

from services.targets.projections import TargetsBoard

SCHEMA = TargetsBoard().schema()
UNIT_TREE = f"""
WITH RECURSIVE tree AS (
    SELECT code FROM "{SCHEMA}".units WHERE code = $1
    UNION SELECT u.code FROM "{SCHEMA}".units u JOIN tree ON u.parent_code = tree.code
)
"""
RATER_ON = f"""
(SELECT a.supervisor_nip FROM "{SCHEMA}".assignments a
 WHERE a.nip = e.nip AND a.effective_from <= $3 ORDER BY a.effective_from DESC LIMIT 1)
"""


async def status_board(pool: asyncpg.Pool, unit: str, year: int, today: date) -> dict[str, Any]:
    """Everyone in the unit (and the units under it) with the state of their SKP."""
    rows = await pool.fetch(
        UNIT_TREE + f"SELECT e.nip, e.name, e.unit_code, coalesce(s.status, 'NO_SKP') AS status,"
        f" s.skp_id, {RATER_ON} AS pejabat_penilai"
        f' FROM "{SCHEMA}".employees e JOIN tree ON e.unit_code = tree.code'
        f' LEFT JOIN "{SCHEMA}".skps s ON s.nip = e.nip AND s.year = $2 ORDER BY e.nip',
        unit, year, today,
    )  # fmt: skip
    people = [dict(row) for row in rows]
    counts: dict[str, int] = {"NO_SKP": 0, "DRAFT": 0, "SUBMITTED": 0, "APPROVED": 0}
    for person in people:
        counts[person["status"]] += 1
    return {
        "unit": unit,
        "year": year,
        "counts": counts,
        "without_skp": [p["nip"] for p in people if p["status"] == "NO_SKP"],
        "waiting_for_approval": [
            {"nip": p["nip"], "skp_id": p["skp_id"], "pejabat_penilai": p["pejabat_penilai"]}
            for p in people
            if p["status"] == "SUBMITTED"
        ],
        "employees": people,
    }


async def cascade_tree(pool: asyncpg.Pool, unit: str, year: int, today: date) -> dict[str, Any]:
    """Which RHK support which superior RHK in the unit, and which superior RHK nobody does."""
    rows = await pool.fetch(
        UNIT_TREE + f"SELECT r.rhk_id, r.text, r.kind, r.parent_rhk_id, r.indicators,"
        f" s.nip, s.skp_id, s.status, {RATER_ON} AS pejabat_penilai"
        f' FROM "{SCHEMA}".rhk r JOIN "{SCHEMA}".skps s USING (skp_id)'
        f' JOIN "{SCHEMA}".employees e ON e.nip = s.nip JOIN tree ON e.unit_code = tree.code'
        " WHERE s.year = $2 ORDER BY r.position",
        unit, year, today,
    )  # fmt: skip
    nodes = {row["rhk_id"]: _node(row) for row in rows}
    raters = {row["pejabat_penilai"] for row in rows if row["pejabat_penilai"]}
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        parent = nodes.get(node["parent_rhk_id"] or "")
        (parent["supported_by"] if parent else roots).append(node)
    unsupported = [
        {"rhk_id": n["rhk_id"], "nip": n["nip"], "text": n["text"]}
        for n in nodes.values()
        if n["nip"] in raters and not n["supported_by"]
    ]
    return {"unit": unit, "year": year, "tree": roots, "unsupported": unsupported}


def _node(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "rhk_id": row["rhk_id"],
        "nip": row["nip"],
        "skp_id": row["skp_id"],
        "skp_status": row["status"],
        "text": row["text"],
        "kind": row["kind"],
        "parent_rhk_id": row["parent_rhk_id"],
        "indicators": orjson.loads(row["indicators"]),
        "supported_by": [],
    }


async def approved_versions(pool: asyncpg.Pool, skp_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f'SELECT skp_version, approved_by, approved_at, document FROM "{SCHEMA}".approved_versions'
        " WHERE skp_id = $1 ORDER BY skp_version",
        skp_id,
    )
    return [{**dict(row), "document": orjson.loads(row["document"])} for row in rows]
