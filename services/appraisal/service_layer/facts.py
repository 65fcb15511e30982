"""Reads of appraisal's projection of the targets: the facts its domain checks (who rates a
period, who decides an appeal, which units a pegawai heads) and the periods of a year."""

from datetime import date

import asyncpg

from services.appraisal.domain.facts import PeriodFacts
from services.appraisal.projections import TargetsFacts
from shared.contracts.appraisal import ANNUAL
from shared.domain.dated import DatedHistory
from shared.domain.errors import NotFound, NotYetSeen
from shared.projections import roster_facts


class FactsReader:
    def __init__(self, pool: asyncpg.Pool, projection: TargetsFacts | None = None) -> None:
        self.pool = pool
        self.live = (projection or TargetsFacts()).schema()
        self.schema = f'"{self.live}"'

    async def span(self, year: int, period: str) -> tuple[date, date]:
        """First and last day of a period of a year (ANNUAL: the whole year)."""
        spans = await self._periods_of(year)
        if period == ANNUAL:
            return date(year, 1, 1), date(year, 12, 31)
        if period not in spans:
            raise NotFound(f"{year} has no period {period}; it has {', '.join(spans)} and ANNUAL")
        return spans[period]

    async def periods(self, year: int) -> list[str]:
        """The period codes of a year, in order (without ANNUAL)."""
        return list(await self._periods_of(year))

    async def _periods_of(self, year: int) -> roster_facts.Periods:
        stored = await self.pool.fetchval(
            f"SELECT periods FROM {self.schema}.years WHERE year = $1", year
        )
        if stored is None:
            raise NotYetSeen(f"appraisal has not seen performance year {year} opened")
        return roster_facts.periods_from(stored)

    async def period(self, nip: str, year: int, period: str) -> PeriodFacts:
        starts, ends = await self.span(year, period)
        if not await self.pool.fetchval(
            f"SELECT true FROM {self.schema}.employees WHERE nip = $1", nip
        ):
            raise NotYetSeen(f"appraisal has not seen pegawai {nip} on the roster")
        rater = (await self.raters(nip)).on(ends)
        atasan = (await self.raters(rater)).on(ends) if rater else None
        return PeriodFacts(
            nip, year, period, starts, ends, rater, atasan, await self.headed_units(nip, ends)
        )

    async def raters(self, nip: str) -> DatedHistory:
        return await roster_facts.raters(self.pool, self.live, nip)

    async def heads(self, code: str) -> DatedHistory:
        rows = await self.pool.fetch(
            f"SELECT effective_from, head_nip FROM {self.schema}.unit_heads WHERE code = $1", code
        )
        return DatedHistory(tuple((r["effective_from"], r["head_nip"]) for r in rows))

    async def headed_units(self, nip: str, day: date) -> tuple[str, ...]:
        """The units whose head on `day` is `nip`."""
        rows = await self.pool.fetch(
            f"SELECT DISTINCT ON (code) code, head_nip FROM {self.schema}.unit_heads"
            " WHERE effective_from <= $1 ORDER BY code, effective_from DESC",
            day,
        )
        return tuple(r["code"] for r in rows if r["head_nip"] == nip)

    async def unit_known(self, code: str) -> bool:
        found = await self.pool.fetchval(
            f"SELECT true FROM {self.schema}.units WHERE code = $1", code
        )
        return bool(found)
