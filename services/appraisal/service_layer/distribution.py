"""The distribution of a unit's predicates for a period: its organisation predicate and the
current predicate of each rated employee of the unit and of the units under it."""

from collections import Counter

import asyncpg

from services.appraisal.projections import Results, TargetsFacts
from shared.contracts.appraisal import OrganisationPredikat, Predikat

TARGETS = f'"{TargetsFacts().schema()}"'
RESULTS = f'"{Results().schema()}"'


async def organisation_predikat(
    pool: asyncpg.Pool, code: str, year: int, period: str
) -> OrganisationPredikat | None:
    found = await pool.fetchval(
        f"SELECT predikat FROM {RESULTS}.organisation_predicates"
        " WHERE unit_code = $1 AND year = $2 AND period = $3",
        code, year, period,
    )  # fmt: skip
    return OrganisationPredikat(found) if found else None


async def predicate_counts(
    pool: asyncpg.Pool, code: str, year: int, period: str
) -> Counter[Predikat]:
    """How many of the unit's employees (its sub-units' included) hold each predicate."""
    rows = await pool.fetch(
        f"WITH RECURSIVE tree AS (SELECT code FROM {TARGETS}.units WHERE code = $1"
        f" UNION SELECT u.code FROM {TARGETS}.units u JOIN tree t ON u.parent_code = t.code)"
        f" SELECT r.predikat, count(*) AS n FROM {RESULTS}.results r"
        f" JOIN {TARGETS}.employees e USING (nip)"
        " WHERE e.unit_code IN (SELECT code FROM tree) AND r.year = $2 AND r.period = $3"
        " GROUP BY r.predikat",
        code, year, period,
    )  # fmt: skip
    return Counter({Predikat(r["predikat"]): r["n"] for r in rows})


async def units_with_predicates(pool: asyncpg.Pool) -> list[tuple[str, int, str]]:
    rows = await pool.fetch(
        f"SELECT unit_code, year, period FROM {RESULTS}.organisation_predicates"
        " ORDER BY year, period, unit_code"
    )
    return [(r["unit_code"], r["year"], r["period"]) for r in rows]
