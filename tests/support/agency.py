"""A small agency driven through the real HTTP APIs, for end-to-end tests: a unit tree with a
head, a sekretaris above, a supervisor replaced mid-quarter, and an approved SKP with
entries. Its year is last year, whose periods have all ended whenever the tests run."""

from datetime import UTC, datetime
from functools import partial

import httpx

from tests.support.services import call, status_of, until

SEKDA, KEPALA, BUDI = "196801011990031001", "197001011995031001", "198003032005011002"
ANDI, SITI = "199001012015031001", "199205152018012002"
YEAR = datetime.now(UTC).year - 1


async def agency_with_an_approved_skp(targets: httpx.AsyncClient) -> tuple[str, str, str]:
    """The roster, the year, and Andi's approved SKP: (skp_id, rhk_id, indicator_id)."""
    admin = "admin:e2e"
    await call(targets, "POST", "/units", admin, {"code": "BIRO", "name": "Biro"})
    await call(
        targets, "POST", "/units", admin, {"code": "BAG", "name": "Bagian", "parent_code": "BIRO"}
    )
    staff = (
        (SEKDA, "BIRO", "JPT"),
        (KEPALA, "BIRO", "ADMINISTRATOR"),
        (BUDI, "BAG", "PENGAWAS"),
        (ANDI, "BIRO", "FUNGSIONAL"),
        (SITI, "BAG", "FUNGSIONAL"),
    )
    for nip, unit, job in staff:
        body = {"nip": nip, "name": "P", "position": "J", "unit_code": unit, "job_type": job}
        await call(targets, "POST", "/employees", admin, body)
    lines = (
        (KEPALA, SEKDA, "01-01"),
        (BUDI, KEPALA, "01-01"),
        (ANDI, KEPALA, "01-01"),
        (SITI, KEPALA, "01-01"),
        (SITI, BUDI, "03-15"),
    )
    for nip, supervisor, since in lines:
        body = {"supervisor_nip": supervisor, "effective_from": f"{YEAR}-{since}"}
        await call(targets, "PUT", f"/employees/{nip}/supervisor", admin, body)
    head = {"head_nip": KEPALA, "effective_from": f"{YEAR}-01-01"}
    await call(targets, "PUT", "/units/BIRO/head", admin, head)
    await call(targets, "POST", "/years", admin, {"year": YEAR, "frequency": "QUARTERLY"})
    skp = (
        await call(
            targets, "POST", "/skps", ANDI, {"nip": ANDI, "year": YEAR, "approach": "KUANTITATIF"}
        )
    )["skp_id"]
    target = {"aspect": "KUANTITAS", "text": "Laporan", "target_value": 4, "target_unit": "laporan"}
    rhk = await call(
        targets,
        "POST",
        f"/skps/{skp}/rhk",
        ANDI,
        {"text": "Tersusunnya laporan", "kind": "UTAMA", "indicators": [target]},
    )
    await call(targets, "POST", f"/skps/{skp}/submit", ANDI)
    await call(targets, "POST", f"/skps/{skp}/approve", KEPALA)
    return skp, rhk["rhk_id"], rhk["indicator_ids"][0]


async def entries(journal: httpx.AsyncClient, skp: tuple[str, str, str]) -> None:
    """Andi's entries (1 and 2 in Q1, 5 in Q2) and his Q1 action plan (3)."""
    skp_id, rhk_id, indicator_id = skp
    entry = {
        "skp_id": skp_id,
        "rhk_id": rhk_id,
        "indicator_id": indicator_id,
        "description": "Laporan",
        "evidence": [{"uri": "s3://bkd/l.pdf", "sha256": "ab" * 32}],
    }
    for day, value in (("02-10", 1), ("03-20", 2), ("04-10", 5)):
        body = {**entry, "date": f"{YEAR}-{day}", "realised_value": value}
        # 409 until the journal has seen the approval on the topic: retry, as it says
        await until(partial(status_of, journal, "POST", "/entries", ANDI, body), lambda s: s != 409)
    plan = {"skp_id": skp_id, "indicator_id": indicator_id, "period": "Q1", "planned_value": 3}
    await call(journal, "POST", "/action-plans", ANDI, plan)
