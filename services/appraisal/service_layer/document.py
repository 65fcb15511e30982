"""The data of the dokumen evaluasi kinerja: the year's SKP, the periodic results, the
annual ratings and predikat, and who rated, as JSON for the agency's document generator."""

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import orjson

from services.appraisal.domain.evaluation import Evaluation
from services.appraisal.service_layer.worksheets import TARGETS, skp_of
from shared.contracts.appraisal import ANNUAL
from shared.domain.identity import Identity

if TYPE_CHECKING:
    from services.appraisal.service_layer.handlers import AppraisalService


async def annual_document(
    service: "AppraisalService", nip: str, year: int, reader: Identity
) -> dict[str, Any]:
    await service.check_may_read(nip, reader)
    annual = await service.facts.period(nip, year, ANNUAL)
    pool = service.facts.pool
    skp = await skp_of(pool, nip, year)
    employee = await pool.fetchrow(f"SELECT * FROM {TARGETS}.employees WHERE nip = $1", nip)
    rhk = await pool.fetch(
        f"SELECT r.rhk_id, r.text, r.kind, r.parent_rhk_id, r.perspective,"
        f" coalesce(jsonb_agg(to_jsonb(i) - 'skp_id' - 'rhk_id' - 'position'"
        f"  ORDER BY i.position) FILTER (WHERE i.indicator_id IS NOT NULL), '[]') AS indicators"
        f" FROM {TARGETS}.rhk r LEFT JOIN {TARGETS}.indicators i USING (skp_id, rhk_id)"
        " WHERE r.skp_id = $1 GROUP BY r.rhk_id, r.text, r.kind, r.parent_rhk_id,"
        " r.perspective, r.position ORDER BY r.position",
        skp["skp_id"],
    )
    periods = [*(await service.facts.periods(year)), ANNUAL]
    results = {}
    for period in periods:
        evaluation = await service.repository.load(Evaluation, Evaluation.id_of(nip, year, period))
        results[period] = _result(evaluation)
    return {
        "nip": nip, "year": year,
        "pegawai": dict(employee) if employee else None,
        "pejabat_penilai": annual.rater, "atasan_pejabat_penilai": annual.atasan_rater,
        "skp": {
            "skp_id": skp["skp_id"], "approach": skp["approach"], "status": skp["status"],
            "version": skp["version"], "approved_by": skp["approved_by"],
            "rhk": [{**dict(r), "indicators": orjson.loads(r["indicators"])} for r in rhk],
        },
        "periodic_results": {p: results[p] for p in periods if p != ANNUAL},
        "annual": results[ANNUAL],
    }  # fmt: skip


def _result(evaluation: Evaluation) -> dict[str, Any] | None:
    if evaluation.result is None:
        return None
    appeal = evaluation.appeal
    return {
        **asdict(evaluation.result),
        "appeal": appeal.outcome or "FILED" if appeal else None,
        "appeal_decided_by": appeal.decider if appeal and appeal.outcome else None,
    }
