"""The targets API: requests become commands; the caller's identity becomes the actor."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from services.targets.entrypoints import schemas as s
from services.targets.service_layer import commands as c
from services.targets.service_layer import queries, read_models
from services.targets.service_layer.handlers import TargetsService
from shared.domain.identity import Identity
from shared.http.auth import current_identity
from shared.http.bodies import storable_parameters
from shared.http.correlation import request_context
from shared.http.problems import problem_responses

router = APIRouter(dependencies=[Depends(storable_parameters)])
Caller = Annotated[Identity, Depends(current_identity)]
WRITES = problem_responses(401, 403, 404, 409, 422)
READS = problem_responses(401, 403, 404)


def targets(request: Request) -> TargetsService:
    service: TargetsService = request.app.state.handlers
    return service


Targets = Annotated[TargetsService, Depends(targets)]


@router.post("/units", status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["roster"])
async def create_unit(body: s.NewUnit, caller: Caller, service: Targets) -> s.Touched:
    done = await service.create_unit(
        c.CreateUnit(**body.model_dump()), caller, request_context(caller)
    )
    return s.Touched(id=done.id, version=done.version)


@router.post("/employees", status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["roster"])
async def register_employee(body: s.NewEmployee, caller: Caller, service: Targets) -> s.Touched:
    command = c.RegisterEmployee(**body.model_dump())
    done = await service.register_employee(command, caller, request_context(caller))
    return s.Touched(id=done.id, version=done.version)


@router.put("/employees/{nip}/supervisor", responses=WRITES, tags=["roster"])
async def assign_supervisor(
    nip: str, body: s.SupervisorChange, caller: Caller, service: Targets
) -> s.Touched:
    command = c.AssignSupervisor(nip, body.supervisor_nip, body.effective_from)
    done = await service.assign_supervisor(command, caller, request_context(caller))
    return s.Touched(id=done.id, version=done.version)


@router.put("/units/{code}/head", responses=WRITES, tags=["roster"])
async def appoint_unit_head(
    code: str, body: s.HeadAppointment, caller: Caller, service: Targets
) -> s.Touched:
    """The pegawai who heads the unit from `effective_from` on; their Rating Hasil Kerja
    follows the unit's organisation predicate."""
    command = c.AppointUnitHead(code, body.head_nip, body.effective_from)
    done = await service.appoint_unit_head(command, caller, request_context(caller))
    return s.Touched(id=done.id, version=done.version)


@router.get("/employees/{nip}", responses=READS, tags=["roster"])
async def get_employee(nip: str, caller: Caller, service: Targets) -> dict[str, Any]:
    return await queries.employee_view(service, nip)


@router.post("/years", status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["years"])
async def open_year(body: s.NewYear, caller: Caller, service: Targets) -> s.Touched:
    done = await service.open_year(
        c.OpenYear(body.year, body.frequency), caller, request_context(caller)
    )
    return s.Touched(id=done.id, version=done.version)


@router.post("/skps", status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["skp"])
async def draft_skp(body: s.NewSkp, caller: Caller, service: Targets) -> s.SkpTouched:
    command = c.DraftSkp(body.nip, body.year, body.approach)
    done = await service.draft_skp(command, caller, request_context(caller))
    return s.SkpTouched(skp_id=done.id, version=done.version)


@router.post(
    "/skps/{skp_id}/rhk", status_code=status.HTTP_201_CREATED, responses=WRITES, tags=["skp"]
)
async def add_rhk(skp_id: str, body: s.NewRhk, caller: Caller, service: Targets) -> s.RhkTouched:
    indicators = [c.NewIndicator(**i.model_dump()) for i in body.indicators]
    command = c.AddRhk(
        skp_id, body.text, body.kind, indicators, body.parent_rhk_id, body.perspective
    )
    done = await service.add_rhk(command, caller, request_context(caller))
    return s.RhkTouched(rhk_id=done.id, indicator_ids=list(done.ids), version=done.version)


@router.put("/skps/{skp_id}/rhk/{rhk_id}", responses=WRITES, tags=["skp"])
async def change_rhk(
    skp_id: str, rhk_id: str, body: s.NewRhk, caller: Caller, service: Targets
) -> s.RhkTouched:
    """Rewrite an RHK of a draft: text, kind, link and indicators (new indicator ids)."""
    indicators = [c.NewIndicator(**i.model_dump()) for i in body.indicators]
    command = c.ChangeRhk(
        skp_id, rhk_id, body.text, body.kind, indicators, body.parent_rhk_id, body.perspective
    )
    done = await service.change_rhk(command, caller, request_context(caller))
    return s.RhkTouched(rhk_id=done.id, indicator_ids=list(done.ids), version=done.version)


@router.delete("/skps/{skp_id}/rhk/{rhk_id}", responses=WRITES, tags=["skp"])
async def remove_rhk(skp_id: str, rhk_id: str, caller: Caller, service: Targets) -> s.SkpTouched:
    done = await service.remove_rhk(c.RemoveRhk(skp_id, rhk_id), caller, request_context(caller))
    return s.SkpTouched(skp_id=done.id, version=done.version)


@router.put("/skps/{skp_id}/behaviour-expectations", responses=WRITES, tags=["skp"])
async def set_expectations(
    skp_id: str, body: s.Expectations, caller: Caller, service: Targets
) -> s.SkpTouched:
    command = c.SetBehaviourExpectations(skp_id, body.expectations)
    done = await service.set_behaviour_expectations(command, caller, request_context(caller))
    return s.SkpTouched(skp_id=done.id, version=done.version)


@router.post("/skps/{skp_id}/submit", responses=WRITES, tags=["skp"])
async def submit(skp_id: str, caller: Caller, service: Targets) -> s.SkpTouched:
    done = await service.submit_skp(c.SubmitSkp(skp_id), caller, request_context(caller))
    return s.SkpTouched(skp_id=done.id, version=done.version)


@router.post("/skps/{skp_id}/approve", responses=WRITES, tags=["skp"])
async def approve(skp_id: str, caller: Caller, service: Targets) -> s.SkpTouched:
    done = await service.approve_skp(c.ApproveSkp(skp_id), caller, request_context(caller))
    return s.SkpTouched(skp_id=done.id, version=done.version)


@router.post("/skps/{skp_id}/return", responses=WRITES, tags=["skp"])
async def return_skp(skp_id: str, body: s.Reason, caller: Caller, service: Targets) -> s.SkpTouched:
    done = await service.return_skp(
        c.ReturnSkp(skp_id, body.reason), caller, request_context(caller)
    )
    return s.SkpTouched(skp_id=done.id, version=done.version)


@router.post("/skps/{skp_id}/revisions", responses=WRITES, tags=["skp"])
async def revise(skp_id: str, caller: Caller, service: Targets) -> s.SkpTouched:
    done = await service.revise_skp(c.ReviseSkp(skp_id), caller, request_context(caller))
    return s.SkpTouched(skp_id=done.id, version=done.version)


@router.get("/skps/{skp_id}", responses=READS, tags=["skp"])
async def get_skp(skp_id: str, caller: Caller, service: Targets) -> dict[str, Any]:
    return await queries.skp_document(service, skp_id, caller)


@router.get("/skps", responses=READS, tags=["skp"])
async def find_skp(nip: str, year: int, caller: Caller, service: Targets) -> dict[str, Any]:
    return await queries.skp_of(service, nip, year, caller)


@router.get("/skps/{skp_id}/versions", responses=READS, tags=["skp"])
async def get_approved_versions(
    skp_id: str, caller: Caller, service: Targets, request: Request
) -> list[dict[str, Any]]:
    """Every approved version of the SKP as it stood (from the read model)."""
    await queries.skp_document(service, skp_id, caller)  # the same readers as the SKP itself
    return await read_models.approved_versions(request.app.state.pool, skp_id)


@router.get("/units/{code}/board", responses=READS, tags=["read models"])
async def status_board(
    code: str, year: int, caller: Caller, service: Targets, request: Request
) -> dict[str, Any]:
    """Who in the unit (and under it) has no SKP for the year, whose waits for approval."""
    return await read_models.status_board(request.app.state.pool, code, year, service.today())


@router.get("/units/{code}/cascade", responses=READS, tags=["read models"])
async def cascade(
    code: str, year: int, caller: Caller, service: Targets, request: Request
) -> dict[str, Any]:
    """Which RHK support which superior RHK, and which superior RHK nobody supports."""
    return await read_models.cascade_tree(request.app.state.pool, code, year, service.today())
