"""The targets HTTP API on the real PostgreSQL: status codes and problem documents as API.md
says, idempotent POSTs, correlation ids carried into the events."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.targets.entrypoints.app import build_app
from shared.config import KinerjaSettings
from shared.http.auth import issue_token

KEPALA, ANDI, SITI = "197001011995031001", "199001012015031001", "199205152018012002"
NOW = datetime(2026, 3, 15, 3, 0, tzinfo=UTC)


def as_(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(subject)}"}


ADMIN = as_("admin:biro-sdm")


@pytest.fixture
async def api(
    database_url: str, kafka_bootstrap_servers: str, pool: asyncpg.Pool
) -> AsyncIterator[httpx.AsyncClient]:
    # each test its own database schema: the service's schema is named after it, so a fresh
    # database would be needed; instead clear the targets schema before each test
    await pool.execute("DROP SCHEMA IF EXISTS targets CASCADE")
    settings = KinerjaSettings(
        database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap_servers
    )
    app: FastAPI = build_app(settings, clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://targets") as client:
            await _agency(client)
            yield client


async def _agency(client: httpx.AsyncClient) -> None:
    await _ok(client.post("/units", json={"code": "BIRO", "name": "Biro SDM"}, headers=ADMIN))
    for nip, job in ((KEPALA, "JPT"), (ANDI, "FUNGSIONAL"), (SITI, "FUNGSIONAL")):
        body = {
            "nip": nip,
            "name": f"P {nip[-3:]}",
            "position": "Jabatan",
            "unit_code": "BIRO",
            "job_type": job,
        }
        await _ok(client.post("/employees", json=body, headers=ADMIN))
    for nip in (ANDI, SITI):
        body = {"supervisor_nip": KEPALA, "effective_from": "2026-01-01"}
        await _ok(client.put(f"/employees/{nip}/supervisor", json=body, headers=ADMIN))
    await _ok(client.post("/years", json={"year": 2026, "frequency": "QUARTERLY"}, headers=ADMIN))


async def _ok(pending: Any) -> httpx.Response:
    response: httpx.Response = await pending
    assert response.status_code in (200, 201), response.text
    return response


def indicator(**changes: object) -> dict[str, object]:
    return {
        "aspect": "KUANTITAS",
        "text": "Laporan tersusun",
        "target_value": 4,
        "target_unit": "laporan",
        **changes,
    }


async def draft(client: httpx.AsyncClient, nip: str) -> str:
    response = await _ok(
        client.post(
            "/skps", json={"nip": nip, "year": 2026, "approach": "KUANTITATIF"}, headers=as_(nip)
        )
    )
    skp_id: str = response.json()["skp_id"]
    return skp_id


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_a_malformed_nip_is_a_422_naming_the_field(api: httpx.AsyncClient) -> None:
    body = {
        "nip": "199002302015031001",
        "name": "X",
        "position": "Y",
        "unit_code": "BIRO",
        "job_type": "PELAKSANA",
    }

    assert_problem(await api.post("/employees", json=body, headers=ADMIN), 422, "body.nip")


async def test_an_unknown_year_is_a_422(api: httpx.AsyncClient) -> None:
    body = {"nip": ANDI, "year": 2031, "approach": "KUANTITATIF"}

    assert_problem(await api.post("/skps", json=body, headers=as_(ANDI)), 422, "body.year")


@pytest.mark.parametrize(
    ("rhk", "field"),
    [
        ({"text": "", "kind": "UTAMA"}, "body.text"),
        (
            {"text": "RHK", "kind": "UTAMA", "indicators": [indicator(target_value=None)]},
            "body.indicators.0.target_value",
        ),
        (
            {"text": "RHK", "kind": "UTAMA", "parent_rhk_id": "not-in-the-supervisors-skp"},
            "body.parent_rhk_id",
        ),
    ],
    ids=[
        "empty RHK text",
        "quantitative indicator without a target",
        "link outside the supervisor's SKP",
    ],
)
async def test_a_bad_rhk_is_a_422_naming_the_field(
    api: httpx.AsyncClient, rhk: dict[str, object], field: str
) -> None:
    skp_id = await draft(api, ANDI)

    assert_problem(await api.post(f"/skps/{skp_id}/rhk", json=rhk, headers=as_(ANDI)), 422, field)


async def test_the_skp_lifecycle_and_its_wrong_states(api: httpx.AsyncClient) -> None:
    skp_id = await draft(api, ANDI)
    rhk = {"text": "Tersusunnya laporan", "kind": "UTAMA", "indicators": [indicator()]}
    added = (await _ok(api.post(f"/skps/{skp_id}/rhk", json=rhk, headers=as_(ANDI)))).json()
    assert len(added["indicator_ids"]) == 1

    assert_problem(await api.post(f"/skps/{skp_id}/approve", headers=as_(KEPALA)), 409)  # a draft
    await _ok(api.post(f"/skps/{skp_id}/submit", headers=as_(ANDI)))
    assert_problem(await api.post(f"/skps/{skp_id}/approve", headers=as_(SITI)), 403)  # a peer
    approved = (await _ok(api.post(f"/skps/{skp_id}/approve", headers=as_(KEPALA)))).json()
    assert approved == {"skp_id": skp_id, "version": 4}
    assert_problem(
        await api.post(f"/skps/{skp_id}/rhk", json=rhk, headers=as_(ANDI)), 409
    )  # approved

    document = (await _ok(api.get(f"/skps?nip={ANDI}&year=2026", headers=as_(KEPALA)))).json()
    assert (document["status"], len(document["rhk"])) == ("APPROVED", 1)
    assert_problem(await api.get(f"/skps/{skp_id}", headers=as_(SITI)), 403)


async def test_the_same_post_with_one_idempotency_key_records_one_event(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    skp_id = await draft(api, ANDI)
    rhk = {"text": "Tersusunnya laporan", "kind": "UTAMA", "indicators": [indicator()]}
    headers = {**as_(ANDI), "Idempotency-Key": "rhk-laporan-1"}

    first = await api.post(f"/skps/{skp_id}/rhk", json=rhk, headers=headers)
    second = await api.post(f"/skps/{skp_id}/rhk", json=rhk, headers=headers)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM targets.events WHERE event_type = 'kinerja.targets.rhk-added'"
        )
        == 1
    )


async def test_the_correlation_id_of_a_request_is_on_its_events(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    response = await api.post(
        "/skps", json={"nip": SITI, "year": 2026, "approach": "KUALITATIF"},
        headers={**as_(SITI), "X-Correlation-ID": "loket-42"},
    )  # fmt: skip

    assert response.headers["x-correlation-id"] == "loket-42"
    row = await pool.fetchrow(
        "SELECT correlation_id, actor, subject FROM targets.events WHERE stream_id = $1",
        f"skp-{SITI}-2026",
    )
    assert row is not None
    assert dict(row) == {"correlation_id": "loket-42", "actor": SITI, "subject": SITI}


async def test_no_token_is_a_401_and_the_employee_view_names_the_raters(
    api: httpx.AsyncClient,
) -> None:
    assert_problem(await api.get(f"/employees/{ANDI}"), 401)

    view = (await _ok(api.get(f"/employees/{ANDI}", headers=as_(SITI)))).json()

    assert (view["pejabat_penilai"], view["atasan_pejabat_penilai"]) == (KEPALA, None)
    assert view["unit"]["code"] == "BIRO"


async def test_a_draft_rhk_is_rewritten_and_removed_but_not_once_submitted(
    api: httpx.AsyncClient,
) -> None:
    skp_id = await draft(api, ANDI)
    rhk = {"text": "Tersusunnya laporan", "kind": "UTAMA", "indicators": [indicator()]}
    rhk_id = (await _ok(api.post(f"/skps/{skp_id}/rhk", json=rhk, headers=as_(ANDI)))).json()[
        "rhk_id"
    ]

    rewritten = {**rhk, "text": "Tersusunnya laporan triwulan"}
    await _ok(api.put(f"/skps/{skp_id}/rhk/{rhk_id}", json=rewritten, headers=as_(ANDI)))
    assert_problem(
        await api.put(f"/skps/{skp_id}/rhk/{rhk_id}", json=rewritten, headers=as_(SITI)), 403
    )
    await _ok(api.post(f"/skps/{skp_id}/submit", headers=as_(ANDI)))
    assert_problem(await api.delete(f"/skps/{skp_id}/rhk/{rhk_id}", headers=as_(ANDI)), 409)

    document = (await _ok(api.get(f"/skps/{skp_id}", headers=as_(ANDI)))).json()
    assert [r["text"] for r in document["rhk"]] == ["Tersusunnya laporan triwulan"]


async def test_two_approvals_racing_over_http_give_one_200_and_one_409(
    api: httpx.AsyncClient,
) -> None:
    skp_id = await draft(api, ANDI)
    rhk = {"text": "Tersusunnya laporan", "kind": "UTAMA", "indicators": [indicator()]}
    await _ok(api.post(f"/skps/{skp_id}/rhk", json=rhk, headers=as_(ANDI)))
    await _ok(api.post(f"/skps/{skp_id}/submit", headers=as_(ANDI)))

    answers = await asyncio.gather(
        *(api.post(f"/skps/{skp_id}/approve", headers=as_(KEPALA)) for _ in range(2))
    )

    assert sorted(a.status_code for a in answers) == [200, 409]


async def test_an_admin_appoints_a_unit_head_and_only_an_admin(api: httpx.AsyncClient) -> None:
    body = {"head_nip": KEPALA, "effective_from": "2026-01-01"}

    appointed = await _ok(api.put("/units/BIRO/head", json=body, headers=ADMIN))
    assert appointed.json() == {"id": "BIRO", "version": 2}
    assert_problem(await api.put("/units/BIRO/head", json=body, headers=as_(ANDI)), 403)
    assert_problem(await api.put("/units/NOWHERE/head", json=body, headers=ADMIN), 404)
    stranger = {"head_nip": "198001012005011001", "effective_from": "2026-01-01"}
    assert_problem(
        await api.put("/units/BIRO/head", json=stranger, headers=ADMIN), 422, "body.head_nip"
    )
