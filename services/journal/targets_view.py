"""The journal's own view of the targets: a projection of `kinerja.targets.v1`, and the
reads that turn it into the facts its domain checks (SkpView, who rated whom when).

Events of one pegawai arrive in order, but a year's opening travels under another key, so
periods are joined at read time, never copied when an SKP is first seen.
"""

import asyncpg

from services.journal.domain.view import IndicatorView, SkpView
from shared.contracts.catalog import full_catalog
from shared.contracts.targets import (
    Approach,
    RhkAdded,
    RhkChanged,
    RhkRemoved,
    SkpApproved,
    SkpDrafted,
    SkpReturned,
    SkpRevisionOpened,
    SkpSubmitted,
)
from shared.domain.dated import DatedHistory
from shared.events.envelope import Envelope
from shared.projections import roster_facts
from shared.projections.projection import Projection
from shared.store.db import Connection

CATALOG = full_catalog()


class TargetsView(Projection):
    name = "journal.targets"
    tables = (
        roster_facts.TABLES
        + """
    CREATE TABLE skps (
        skp_id text PRIMARY KEY, nip text NOT NULL, year integer NOT NULL,
        approach text NOT NULL, approved boolean NOT NULL DEFAULT false
    );
    CREATE TABLE indicators (
        skp_id text NOT NULL, rhk_id text NOT NULL, indicator_id text NOT NULL,
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
            case SkpDrafted() as e:
                await db.execute(
                    "INSERT INTO skps (skp_id, nip, year, approach) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT DO NOTHING",
                    e.skp_id, e.nip, e.year, e.approach.value,
                )  # fmt: skip
            case RhkAdded() | RhkChanged() as e:
                await db.execute(
                    "DELETE FROM indicators WHERE skp_id = $1 AND rhk_id = $2", e.skp_id, e.rhk_id
                )
                await db.executemany(
                    "INSERT INTO indicators VALUES ($1, $2, $3)",
                    [(e.skp_id, e.rhk_id, i.indicator_id) for i in e.indicators],
                )
            case RhkRemoved() as e:
                await db.execute(
                    "DELETE FROM indicators WHERE skp_id = $1 AND rhk_id = $2", e.skp_id, e.rhk_id
                )
            case SkpApproved() as e:
                await db.execute("UPDATE skps SET approved = true WHERE skp_id = $1", e.skp_id)
            case SkpSubmitted() | SkpReturned() | SkpRevisionOpened() as e:
                await db.execute("UPDATE skps SET approved = false WHERE skp_id = $1", e.skp_id)


class TargetsViewReader:
    """Reads of the projection's live tables, as the domain's facts."""

    def __init__(self, pool: asyncpg.Pool, projection: TargetsView) -> None:
        self.pool = pool
        self.live = projection.schema()
        self.schema = f'"{self.live}"'

    async def skp(self, skp_id: str) -> SkpView | None:
        """The SKP as far as the journal has seen it; None if it has not seen it at all."""
        async with self.pool.acquire() as db:
            row = await db.fetchrow(
                f"SELECT s.nip, s.year, s.approach, s.approved, y.periods FROM {self.schema}.skps s"
                f" LEFT JOIN {self.schema}.years y USING (year) WHERE s.skp_id = $1",
                skp_id,
            )
            if row is None:
                return None
            indicators = await db.fetch(
                f"SELECT rhk_id, indicator_id FROM {self.schema}.indicators WHERE skp_id = $1",
                skp_id,
            )
        quantitative = row["approach"] == Approach.KUANTITATIF.value
        return SkpView(
            skp_id=skp_id,
            nip=row["nip"],
            year=row["year"],
            approach=Approach(row["approach"]),
            approved=row["approved"],
            indicators={
                i["indicator_id"]: IndicatorView(i["indicator_id"], i["rhk_id"], quantitative)
                for i in indicators
            },
            periods=roster_facts.periods_from(row["periods"]),
        )

    async def raters(self, nip: str) -> DatedHistory:
        return await roster_facts.raters(self.pool, self.live, nip)
