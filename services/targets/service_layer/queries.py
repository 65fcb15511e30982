"""Reads of single records, straight from their streams (always current). The read models
built by projections serve the lists and boards."""

from typing import Any

from services.targets.domain.roster import Employee, Unit
from services.targets.domain.skp import Skp, skp_id
from services.targets.service_layer.handlers import TargetsService
from shared.domain.errors import NotAllowed, NotFound
from shared.domain.identity import Identity


async def employee_view(targets: TargetsService, nip: str) -> dict[str, Any]:
    employee = await targets.repository.load(Employee, nip)
    if not employee.exists:
        raise NotFound(f"pegawai {nip} is not on the roster")
    unit = await targets.repository.load(Unit, employee.unit_code)
    supervisor = employee.supervisor_on(targets.today())
    above = None
    if supervisor is not None:
        above = (await targets.repository.load(Employee, supervisor)).supervisor_on(targets.today())
    return {
        "nip": employee.identity,
        "name": employee.name,
        "position": employee.position,
        "job_type": employee.job_type,
        "unit": {"code": unit.identity, "name": unit.name, "parent_code": unit.parent_code},
        "pejabat_penilai": supervisor,
        "atasan_pejabat_penilai": above,
        "supervisor_history": [
            {"supervisor_nip": a.supervisor_nip, "effective_from": a.effective_from}
            for a in sorted(employee.assignments, key=lambda a: a.effective_from)
        ],
    }


async def skp_document(targets: TargetsService, identity: str, reader: Identity) -> dict[str, Any]:
    skp = await targets.repository.load(Skp, identity)
    if not skp.exists:
        raise NotFound(f"there is no SKP {identity}")
    await _check_may_read(targets, skp.nip, reader)
    return {
        "skp_id": skp.identity,
        "nip": skp.nip,
        "year": skp.year,
        "approach": skp.approach,
        "status": skp.status,
        "skp_version": skp.skp_version,
        "version": skp.version,
        "rhk": [
            {
                "rhk_id": r.rhk_id,
                "text": r.text,
                "kind": r.kind,
                "parent_rhk_id": r.parent_rhk_id,
                "perspective": r.perspective,
                "indicators": [i.model_dump(mode="json") for i in r.indicators],
            }
            for r in skp.rhk.values()
        ],
        "behaviour_expectations": skp.expectations,
    }


async def skp_of(targets: TargetsService, nip: str, year: int, reader: Identity) -> dict[str, Any]:
    return await skp_document(targets, skp_id(nip, year), reader)


async def _check_may_read(targets: TargetsService, nip: str, reader: Identity) -> None:
    """The pegawai, their pejabat penilai and that one's superior, admins and auditors."""
    if reader.kind in ("admin", "auditor") or reader.nip == nip:
        return
    owner = await targets.repository.load(Employee, nip)
    rater = owner.supervisor_on(targets.today())
    if rater is not None and reader.nip == rater:
        return
    if rater is not None:
        above = (await targets.repository.load(Employee, rater)).supervisor_on(targets.today())
        if above is not None and reader.nip == above:
            return
    raise NotAllowed(f"only pegawai {nip}, their raters, admins and auditors read this SKP")
