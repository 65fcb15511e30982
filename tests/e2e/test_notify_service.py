"""Notify beside the other three services, each its own process on real Kafka and
PostgreSQL: each inbox rule from the events of a real quarter, reminders sent once however
often the job runs, one email decided per message, and a replay of every topic into the
inbox that decides nothing new."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from functools import partial

import asyncpg
import httpx
import pytest

from services.notify.entrypoints.app import projections
from tests.support.agency import (
    ANDI,
    BUDI,
    KEPALA,
    SEKDA,
    SITI,
    YEAR,
    agency_with_an_approved_skp,
    entries,
)
from tests.support.receivers import WebhookReceiver, serving
from tests.support.replays import replay_and_compare
from tests.support.services import Running, as_, call, ready, running_services, seen, until

SERVICES = ["targets", "journal", "appraisal", "notify --no-reminders"]


@pytest.fixture
def services(database_url: str, kafka_bootstrap_servers: str) -> Iterator[Running]:
    with running_services(SERVICES, database_url, kafka_bootstrap_servers) as running:
        yield running


async def inbox_kinds(notify: httpx.AsyncClient, nip: str) -> list[str]:
    answer = await seen(notify, f"/inbox/{nip}", nip)
    return sorted(item["kind"] for item in answer["items"]) if answer else []


async def settled(notify: httpx.AsyncClient, nip: str, kinds: list[str]) -> None:
    await until(partial(inbox_kinds, notify, nip), lambda found: found == sorted(kinds))


def remind(running: Running, at: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.notify.remind", "--at", at],
        env=running.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def test_each_rule_tells_the_right_person_once(
    services: Running, pool: asyncpg.Pool, kafka_bootstrap_servers: str
) -> None:
    clients = {n: httpx.AsyncClient(base_url=u, timeout=10) for n, u in services.urls.items()}
    for client in clients.values():
        await ready(client)
    receiver = WebhookReceiver(secret="rahasia-payroll-2026")

    async def accepted() -> int:
        return len(receiver.accepted)

    async with serving(receiver) as url:
        await _through_a_quarter(services, clients, pool, kafka_bootstrap_servers, url)
        await until(accepted, lambda n: n >= 2)
        await asyncio.sleep(2)  # room for a second send, which must not come
    # the payroll system heard of each predicate determined (the rating, its amendment),
    # signed, once each, replay or not
    delivered = receiver.accepted
    assert all(d.signed for d in delivered)
    assert {d.body["type"] for d in delivered} == {"kinerja.appraisal.predikat-determined.v1"}
    assert sorted(d.body["data"]["cause"] for d in delivered) == ["AMENDMENT", "RATING"]
    assert len(receiver.requests) == 2


async def _through_a_quarter(
    services: Running,
    clients: dict[str, httpx.AsyncClient],
    pool: asyncpg.Pool,
    kafka_bootstrap_servers: str,
    webhook_url: str,
) -> None:
    targets, journal, appraisal, notify = (
        clients[n] for n in ("targets", "journal", "appraisal", "notify")
    )
    bad = {"url": "ftp://payroll", "event_types": ["*"], "secret": "rahasia-payroll-2026"}
    assert (await notify.post("/webhooks", json=bad, headers=as_("admin:e2e"))).status_code == 422
    hook = {
        "url": webhook_url,
        "event_types": ["kinerja.appraisal.predikat-determined"],
        "secret": "rahasia-payroll-2026",
    }
    await call(notify, "POST", "/webhooks", "admin:e2e", hook)
    skp = await agency_with_an_approved_skp(targets)
    await entries(journal, skp)
    await _returned_skp_of_siti(targets)
    listed = await until(  # the journal's read model follows its topic
        partial(call, journal, "GET", f"/entries?nip={ANDI}&year={YEAR}&period=Q1", ANDI),
        lambda found: len(found) == 2,
    )
    await call(
        journal, "POST", f"/entries/{listed[0]['entry_id']}/feedback", KEPALA, {"text": "Bagus"}
    )
    await _rated_and_appealed(appraisal)

    await settled(notify, KEPALA, ["APPEAL_DECIDED", "SKP_SUBMITTED"])
    await settled(notify, BUDI, ["SKP_SUBMITTED"])  # Siti's pejabat penilai since 15 March
    await settled(notify, SITI, ["SKP_RETURNED"])
    admins = await until(
        partial(call, notify, "GET", "/inbox/admins", "admin:e2e"), lambda a: a["items"]
    )
    # one message per judgement: the watch may have judged before the amendment reached it
    assert {item["kind"] for item in admins["items"]} == {"CURVE_BREACHED"}
    breach = admins["items"][0]
    assert "BIRO" in breach["title"]
    assert "at_least 60% BUTUH_PERBAIKAN" in breach["body"]
    await settled(notify, SEKDA, ["APPEAL_FILED"])
    await settled(
        notify,
        ANDI,
        ["APPEAL_DECIDED", "FEEDBACK_GIVEN", "RATING_AMENDED", "RATING_GIVEN", "SKP_APPROVED"],
    )
    rating = next(
        i
        for i in (await call(notify, "GET", f"/inbox/{ANDI}?lang=en", ANDI))["items"]
        if i["kind"] == "RATING_GIVEN"
    )
    assert "Sangat Baik" in rating["body"]
    assert "You may appeal until" in rating["body"]
    assert (
        await notify.get(f"/inbox/{ANDI}", headers={"Authorization": "Bearer x"})
    ).status_code == 401
    assert (await notify.get(f"/inbox/{ANDI}", headers=as_(SITI))).status_code == 403

    # 27 September: Q3 ends in three days with no entry of Andi's; Q2 ended unrated; the
    # SKP deadline passed for everyone but Andi. Three runs, each a fresh process.
    # off the event loop: the webhook receiver serves on it meanwhile, and a receiver that
    # does not answer in time gets the delivery again (at least once), as any would
    at = f"{YEAR}-09-27T08:00:00+0700"
    sent = [await asyncio.to_thread(remind, services, at) for _ in range(3)]
    assert sent == ["reminders sent: 6", "reminders sent: 0", "reminders sent: 0"]
    await settled(
        notify,
        KEPALA,
        [
            "APPEAL_DECIDED",
            "REMINDER_NO_APPROVED_SKP",
            "REMINDER_UNRATED_SUBORDINATES",
            "SKP_SUBMITTED",
        ],
    )
    await settled(
        notify,
        ANDI,
        [
            "APPEAL_DECIDED",
            "FEEDBACK_GIVEN",
            "RATING_AMENDED",
            "RATING_GIVEN",
            "REMINDER_NO_ENTRY_BEFORE_PERIOD_END",
            "SKP_APPROVED",
        ],
    )
    decided = await _deliveries(pool)
    reminded = [key for key in decided if key[:2] == (ANDI, "REMINDER_NO_ENTRY_BEFORE_PERIOD_END")]
    assert len(reminded) == 1
    assert all(count == 1 for count in decided.values()), decided

    assert await _marking_read_is_idempotent(notify)
    for client in clients.values():
        await client.aclose()
    [inbox] = projections(services.namespace)
    live, replayed = await replay_and_compare(inbox, pool, kafka_bootstrap_servers)
    assert replayed == live
    assert await _deliveries(pool) == decided  # the replay decided nothing new, so sends nothing


async def _returned_skp_of_siti(targets: httpx.AsyncClient) -> None:
    skp = (
        await call(
            targets, "POST", "/skps", SITI, {"nip": SITI, "year": YEAR, "approach": "KUANTITATIF"}
        )
    )["skp_id"]
    target = {"aspect": "KUANTITAS", "text": "Surat", "target_value": 12, "target_unit": "surat"}
    body = {"text": "Tersusunnya surat", "kind": "UTAMA", "indicators": [target]}
    await call(targets, "POST", f"/skps/{skp}/rhk", SITI, body)
    await call(targets, "POST", f"/skps/{skp}/submit", SITI)
    await call(targets, "POST", f"/skps/{skp}/return", BUDI, {"reason": "Target terlalu rendah"})


async def _rated_and_appealed(appraisal: httpx.AsyncClient) -> None:
    path = f"/evaluations/{ANDI}/{YEAR}/Q1"
    atas = "DI_ATAS_EKSPEKTASI"
    body = {"hasil_kerja": atas, "perilaku_kerja": atas}
    rated = partial(appraisal.post, f"{path}/rating", json=body, headers=as_(KEPALA))
    await until(rated, lambda r: r.status_code != 409)  # appraisal learns of the roster first
    amended = {"hasil_kerja": atas, "perilaku_kerja": "SESUAI_EKSPEKTASI"}
    await call(appraisal, "POST", f"{path}/rating", KEPALA, amended)
    await call(appraisal, "POST", f"{path}/appeal", ANDI, {"reason": "Kurang tepat"})
    decision = {"outcome": "UPHELD", "note": "Sudah sesuai"}
    await call(appraisal, "POST", f"{path}/appeal/decision", SEKDA, decision)
    # one Sangat Baik in a unit rated Butuh Perbaikan: the curve breaks twice over
    unit = f"/units/BIRO/organisation-predicates/{YEAR}/Q1"
    await call(appraisal, "PUT", unit, "admin:e2e", {"predikat": "BUTUH_PERBAIKAN"})


async def _deliveries(pool: asyncpg.Pool) -> dict[tuple[str, str, str], int]:
    """How many deliveries each (target, kind, event) was decided."""
    rows = await pool.fetch(
        "SELECT target, kind, event_id::text, count(*) AS n FROM notify.deliveries"
        " GROUP BY target, kind, event_id"
    )
    return {(r["target"], r["kind"], r["event_id"]): r["n"] for r in rows}


async def _marking_read_is_idempotent(notify: httpx.AsyncClient) -> bool:
    items = (await call(notify, "GET", f"/inbox/{ANDI}", ANDI))["items"]
    marked = await call(notify, "POST", f"/inbox/{ANDI}/{items[0]['notification_id']}/read", ANDI)
    again = await call(notify, "POST", f"/inbox/{ANDI}/{items[0]['notification_id']}/read", ANDI)
    assert marked["version"] == again["version"] == 1
    after = (await call(notify, "GET", f"/inbox/{ANDI}", ANDI))["items"]
    return [i["read"] for i in after].count(True) == 1
