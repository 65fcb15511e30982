"""The appraisal API: requests become commands on evaluations and unit predicates; reads come
from the evaluation streams and from appraisal's read models."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status

from services.appraisal.entrypoints import schemas as s
from services.appraisal.service_layer.document import annual_document
from services.appraisal.service_layer.handlers import AppraisalService, Done
from shared.domain.identity import Identity
from shared.http.auth import current_identity
from shared.http.bodies import storable_parameters
from shared.http.correlation import request_context
from shared.http.problems import problem_responses

router = APIRouter(dependencies=[Depends(storable_parameters)])
Caller = Annotated[Identity, Depends(current_identity)]
Nip = Annotated[str, Path(pattern=r"^[0-9]{18}$", description="the pegawai's NIP")]
Year = Annotated[int, Path(ge=2000, le=2100)]
PeriodCode = Annotated[
    str, Path(pattern=r"^(Q[1-4]|M(0[1-9]|1[0-2])|ANNUAL)$", description="Q1..Q4, M01..M12, ANNUAL")
]
WRITES = problem_responses(401, 403, 404, 409, 422)
READS = problem_responses(401, 403, 404, 409, 422)


def appraisal(request: Request) -> AppraisalService:
    service: AppraisalService = request.app.state.handlers
    return service


Appraisal = Annotated[AppraisalService, Depends(appraisal)]


def rated(done: Done) -> s.Rated:
    return s.Rated(evaluation_id=done.id, predikat=done.predikat, version=done.version)


@router.get("/worksheets/{nip}/{year}/{period}", responses=READS, tags=["worksheets"])
async def get_worksheet(
    nip: Nip, year: Year, period: PeriodCode, caller: Caller, service: Appraisal
) -> dict[str, Any]:
    """Each indicator of the pegawai's SKP: target, action plan, realised in the period,
    achievement and the entries behind it. From the read models: a moment behind."""
    return await service.worksheet((nip, year, period), caller)


@router.post(
    "/evaluations/{nip}/{year}/{period}/rating",
    status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["evaluations"],
)  # fmt: skip
async def rate(
    nip: Nip, year: Year, period: PeriodCode, body: s.NewRating, caller: Caller, service: Appraisal
) -> s.Rated:
    """The pejabat penilai of the pegawai at the period's end rates it, once it has ended; a
    later rating amends it."""
    ratings = (body.hasil_kerja, body.perilaku_kerja)
    done = await service.rate(
        (nip, year, period), ratings, body.note, caller, request_context(caller)
    )
    return rated(done)


@router.get("/evaluations/{nip}/{year}/{period}", responses=READS, tags=["evaluations"])
async def get_evaluation(
    nip: Nip, year: Year, period: PeriodCode, caller: Caller, service: Appraisal
) -> dict[str, Any]:
    """Ratings, predikat, who rated, the appeal and every event of the history."""
    evaluation, history = await service.evaluation((nip, year, period), caller)
    appeal = evaluation.appeal
    return {
        "evaluation_id": evaluation.identity, "nip": nip, "year": year, "period": period,
        "version": evaluation.version,
        **(asdict(evaluation.result) if evaluation.result else {"predikat": None}),
        "appeal_until": evaluation.appeal_until,
        "appeal": {**asdict(appeal), "state": appeal.outcome or "FILED"} if appeal else None,
        "history": history,
    }  # fmt: skip


@router.post(
    "/evaluations/{nip}/{year}/{period}/appeal",
    status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["appeals"],
)  # fmt: skip
async def appeal(
    nip: Nip, year: Year, period: PeriodCode, body: s.NewAppeal, caller: Caller, service: Appraisal
) -> s.Rated:
    """Keberatan: the pegawai objects within 14 days of the rating; one appeal per result."""
    done = await service.file_appeal(
        (nip, year, period), body.reason, caller, request_context(caller)
    )
    return rated(done)


@router.post(
    "/evaluations/{nip}/{year}/{period}/appeal/decision",
    status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["appeals"],
)  # fmt: skip
async def decide_appeal(
    nip: Nip, year: Year, period: PeriodCode, body: s.Decision, caller: Caller, service: Appraisal
) -> s.Rated:
    """The atasan pejabat penilai decides, finally: UPHELD, or CHANGED with new ratings."""
    decision = (body.outcome, body.hasil_kerja, body.perilaku_kerja)
    done = await service.decide_appeal(
        (nip, year, period), decision, body.note, caller, request_context(caller)
    )
    return rated(done)


@router.put(
    "/units/{code}/organisation-predicates/{year}/{period}", responses=WRITES, tags=["units"]
)
async def set_organisation_predicate(
    code: str, year: Year, period: PeriodCode, body: s.UnitPredicate, caller: Caller,
    service: Appraisal,
) -> s.PredicateSet:  # fmt: skip
    done = await service.set_organisation_predicate(
        (code, year, period), body.predikat, caller, request_context(caller)
    )
    return s.PredicateSet(id=done.id, predikat=body.predikat.value, version=done.version)


@router.get("/units/{code}/distribution/{year}/{period}", responses=READS, tags=["units"])
async def get_distribution(
    code: str, year: Year, period: PeriodCode, caller: Caller, service: Appraisal
) -> dict[str, Any]:
    """Whether the unit's predicates keep to the distribution curve of its organisation
    predicate, naming each breached limit with the numbers. Guidance: it refuses nothing."""
    verdict = await service.distribution((code, year, period), caller)
    return {"unit_code": code, "year": year, "period": period, **asdict(verdict)}


@router.get("/documents/{nip}/{year}", responses=READS, tags=["evaluations"])
async def get_annual_document(
    nip: Nip, year: Year, caller: Caller, service: Appraisal
) -> dict[str, Any]:
    """The data of the dokumen evaluasi kinerja: the SKP, the periodic results, the annual
    ratings and predikat, and the raters."""
    return await annual_document(service, nip, year, caller)
