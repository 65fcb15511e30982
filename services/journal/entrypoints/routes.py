"""The journal API: requests become commands on the journal's own view of the targets."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from services.journal.domain.entry import Realisation
from services.journal.entrypoints import schemas as s
from services.journal.service_layer import read_models
from services.journal.service_layer.handlers import BatchRefused, JournalService, RecordEntry
from shared.domain.errors import RuleViolation
from shared.domain.identity import Identity
from shared.http.auth import current_identity
from shared.http.bodies import storable_parameters
from shared.http.correlation import request_context
from shared.http.problems import Unprocessable, problem_responses

router = APIRouter(dependencies=[Depends(storable_parameters)])
Caller = Annotated[Identity, Depends(current_identity)]
WRITES = problem_responses(401, 403, 404, 409, 422)


def journal(request: Request) -> JournalService:
    service: JournalService = request.app.state.handlers
    return service


Journal = Annotated[JournalService, Depends(journal)]


def realisation(body: s.Realised) -> Realisation:
    return Realisation(
        body.date, body.description, body.realised_value, body.realised_text, tuple(body.evidence)
    )


@router.post("/entries", status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["entries"])
async def record_entry(body: s.NewEntry, caller: Caller, service: Journal) -> s.EntryTouched:
    """Record progress on an indicator of the caller's approved SKP. A 409 that names an SKP
    the journal has not seen yet means: retry in a moment."""
    command = RecordEntry(body.skp_id, body.rhk_id, body.indicator_id, realisation(body))
    done = await service.record_entry(command, caller, request_context(caller))
    return s.EntryTouched(entry_id=done.id, version=done.version)


@router.post(
    "/entries/batch", status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["entries"]
)
async def record_entries(
    body: s.EntryBatch, caller: Caller, service: Journal
) -> list[s.EntryTouched]:
    """Several entries in one request and one transaction: all recorded, or none, with a 422
    listing each refused item (`body.entries.<index>.<field>`) when any is refused."""
    commands = [
        RecordEntry(item.skp_id, item.rhk_id, item.indicator_id, realisation(item))
        for item in body.entries
    ]
    try:
        done = await service.record_entries(commands, caller, request_context(caller))
    except BatchRefused as refused:
        raise Unprocessable(
            str(refused),
            errors=[
                {"field": _field(index, error), "message": str(error)}
                for index, error in refused.refusals
            ],
        ) from None
    return [s.EntryTouched(entry_id=d.id, version=d.version) for d in done]


def _field(index: int, error: Exception) -> str:
    inner = error.field if isinstance(error, RuleViolation) else "entry"
    return f"body.entries.{index}.{inner}"


@router.post(
    "/entries/{entry_id}/corrections",
    status_code=status.HTTP_201_CREATED,
    responses=WRITES,
    tags=["entries"],
)
async def correct_entry(
    entry_id: str, body: s.Realised, caller: Caller, service: Journal
) -> s.EntryTouched:
    done = await service.correct_entry(entry_id, realisation(body), caller, request_context(caller))
    return s.EntryTouched(entry_id=done.id, version=done.version)


@router.post(
    "/entries/{entry_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    responses=WRITES,
    tags=["entries"],
)
async def give_feedback(
    entry_id: str, body: s.Feedback, caller: Caller, service: Journal
) -> s.EntryTouched:
    done = await service.give_feedback(entry_id, body.text, caller, request_context(caller))
    return s.EntryTouched(entry_id=done.id, version=done.version)


@router.post("/action-plans", responses=WRITES, tags=["action plans"])
async def set_action_plan(body: s.NewActionPlan, caller: Caller, service: Journal) -> s.PlanTouched:
    """What the caller plans to deliver on an indicator in a period; setting it again
    replaces it (the history keeps each)."""
    done = await service.set_action_plan(
        body.skp_id, body.indicator_id, body.period, (body.planned_value, body.planned_text),
        caller, request_context(caller),
    )  # fmt: skip
    return s.PlanTouched(plan_id=done.id, version=done.version)


READS = problem_responses(401, 403, 409, 422)


@router.get("/entries", responses=READS, tags=["entries"])
async def list_entries(
    nip: str,
    year: int,
    caller: Caller,
    service: Journal,
    request: Request,
    period: str | None = None,
) -> list[dict[str, Any]]:
    """The pegawai's entries of the year (or of one period), each with every version it had
    and the feedback on it. From the read model: a moment behind the writes."""
    await read_models.check_may_read(service.view, nip, caller)
    span = None
    if period is not None:
        span = read_models.period_span(await service.skp(f"{nip}-{year}"), period)
    return await read_models.entries(request.app.state.pool, nip, year, span)


@router.get("/entries/totals", responses=READS, tags=["entries"])
async def realised_totals(
    nip: str, year: int, caller: Caller, service: Journal, request: Request
) -> list[dict[str, Any]]:
    """Per indicator and period: the realised total so far and how many entries make it."""
    await read_models.check_may_read(service.view, nip, caller)
    skp = await service.skp(f"{nip}-{year}")
    return await read_models.realised_totals(request.app.state.pool, skp)


@router.get("/action-plans", responses=READS, tags=["action plans"])
async def list_action_plans(
    nip: str,
    year: int,
    caller: Caller,
    service: Journal,
    request: Request,
    period: str | None = None,
) -> list[dict[str, Any]]:
    """The pegawai's action plans of the year (or of one period), each with the realised total
    of its indicator in its period and how many entries make it. From the read model."""
    await read_models.check_may_read(service.view, nip, caller)
    skp = await service.skp(f"{nip}-{year}")
    return await read_models.action_plans(request.app.state.pool, skp, period)
