"""A sample agency played through the four services' HTTP APIs: the Biro SDM of a ministry
with its head, two heads of bagian and a dozen staff, a QUARTERLY year, and its first quarter
(SKPs cascading from the head's RHK, approvals, entries with evidence, feedback, action plans,
organisation predicates, ratings across the predicates, an appeal).

Every POST carries an Idempotency-Key of its own, so a seed cut short runs again without
recording anything twice; a seed that finished is recognised and left alone.
"""

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from shared.http.auth import issue_token

UNIT, BAGIAN = "BIRO-SDM", ("BAG-KINERJA", "BAG-MUTASI")
SEKJEN = "196805121990031001"  # the Sekretaris Jenderal: rates the head, decides his appeals
HEAD = "197203081996031002"  # Kepala Biro SDM
SUPERVISORS = ("197811202003122001", "198002142005011003")  # Kepala Bagian Kinerja, Mutasi
# born 1985-1987, appointed 2010-2015, alternately men and women
STAFF = tuple(
    f"{1985 + n // 4}{1 + n % 12:02d}{10 + n}{2010 + n % 6}{1 + n % 9:02d}{1 + n % 2}{n + 1:03d}"
    for n in range(12)
)
ADMIN = "admin:seed"
ATAS, SESUAI, BAWAH = "DI_ATAS_EKSPEKTASI", "SESUAI_EKSPEKTASI", "DI_BAWAH_EKSPEKTASI"
# (hasil kerja, perilaku kerja) of the twelve staff: every predikat appears
STAFF_RATINGS = (
    (ATAS, ATAS), (ATAS, SESUAI), (SESUAI, SESUAI), (SESUAI, ATAS), (SESUAI, SESUAI),
    (BAWAH, SESUAI), (ATAS, ATAS), (SESUAI, SESUAI), (SESUAI, BAWAH), (BAWAH, BAWAH),
    (BAWAH, ATAS), (SESUAI, SESUAI),
)  # fmt: skip

APPELLANT = STAFF[8]  # rated KURANG (Sesuai, Di Bawah): appeals; the head changes it


def year_with_a_finished_first_quarter(today: date) -> int:
    return today.year if today > date(today.year, 3, 31) else today.year - 1


@dataclass
class Api:
    """The four services' clients; each POST idempotent by a key from what it does."""

    urls: dict[str, str]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    async def __aenter__(self) -> "Api":
        self.clients = {n: httpx.AsyncClient(base_url=u, timeout=30) for n, u in self.urls.items()}
        return self

    async def __aexit__(self, *_: object) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def send(
        self, service: str, method: str, path: str, who: str, body: Any = None
    ) -> dict[str, Any]:
        """A request that must succeed; retried while the service has not yet seen what it
        names (409 not-yet-seen, as the API says: retry in a moment)."""
        headers = {"Authorization": f"Bearer {issue_token(who)}"}
        if method == "POST":
            digest = hashlib.sha256(f"{method} {path} {who} {body}".encode()).hexdigest()[:32]
            headers["Idempotency-Key"] = f"seed-{digest}"
        for _ in range(300):
            try:
                response = await self.clients[service].request(
                    method, path, json=body, headers=headers
                )
            except httpx.TransportError:  # a service restarting: the same key, again
                await asyncio.sleep(0.2)
                continue
            if response.status_code != 409 or "not-yet-seen" not in response.text:
                break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"{service} {method} {path}: no answer in a minute")
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{service} {method} {path}: {response.status_code} {response.text}")
        answer: dict[str, Any] = response.json() if response.content else {}
        return answer


async def seeded(api: Api, year: int) -> bool:
    """Whether a previous seed finished: its last step, the appeal's decision, is there."""
    response = await api.clients["appraisal"].get(
        f"/evaluations/{APPELLANT}/{year}/Q1",
        headers={"Authorization": f"Bearer {issue_token(ADMIN)}"},
    )
    return response.status_code == 200 and bool(
        (response.json().get("appeal") or {}).get("outcome")
    )


async def seed(urls: dict[str, str], year: int, say: Callable[[str], None] = print) -> bool:
    """Play the sample agency's first quarter of `year`; False if it was already there."""
    async with Api(urls) as api:
        if await seeded(api, year):
            return False
        say("seed: the roster of Biro SDM and the year")
        await _roster(api, year)
        say("seed: SKPs cascading from the head's RHK, approved")
        skps = await _skps(api, year)
        say("seed: action plans, entries with evidence, feedback")
        await _entries(api, year, skps)
        say("seed: organisation predicates, ratings, an appeal")
        await _appraisal(api, year)
    return True


async def _roster(api: Api, year: int) -> None:
    await api.send(
        "targets", "POST", "/units", ADMIN, {"code": UNIT, "name": "Biro Sumber Daya Manusia"}
    )
    for code, name in zip(BAGIAN, ("Bagian Pengelolaan Kinerja", "Bagian Mutasi"), strict=True):
        await api.send(
            "targets", "POST", "/units", ADMIN, {"code": code, "name": name, "parent_code": UNIT}
        )
    people = [
        (SEKJEN, "Ir. Bambang Wijaya", "Sekretaris Jenderal", UNIT, "JPT"),
        (HEAD, "Dr. Siti Rahmawati", "Kepala Biro SDM", UNIT, "JPT"),
        (
            SUPERVISORS[0],
            "Agus Salim, S.E.",
            "Kepala Bagian Pengelolaan Kinerja",
            BAGIAN[0],
            "ADMINISTRATOR",
        ),
        (SUPERVISORS[1], "Rina Marlina, S.H.", "Kepala Bagian Mutasi", BAGIAN[1], "ADMINISTRATOR"),
    ] + [
        (nip, f"Pegawai {n + 1:02d}", "Analis SDM Aparatur", BAGIAN[n // 6], "FUNGSIONAL")
        for n, nip in enumerate(STAFF)
    ]
    for nip, name, position, unit, job in people:
        body = {"nip": nip, "name": name, "position": position, "unit_code": unit, "job_type": job}
        await api.send("targets", "POST", "/employees", ADMIN, body)
    since = f"{year}-01-01"
    lines = [(HEAD, SEKJEN), *((s, HEAD) for s in SUPERVISORS)]
    lines += [(nip, SUPERVISORS[n // 6]) for n, nip in enumerate(STAFF)]
    for nip, supervisor in lines:
        body = {"supervisor_nip": supervisor, "effective_from": since}
        await api.send("targets", "PUT", f"/employees/{nip}/supervisor", ADMIN, body)
    for code, head in ((UNIT, HEAD), *zip(BAGIAN, SUPERVISORS, strict=True)):
        await api.send(
            "targets",
            "PUT",
            f"/units/{code}/head",
            ADMIN,
            {"head_nip": head, "effective_from": since},
        )
    await api.send("targets", "POST", "/years", ADMIN, {"year": year, "frequency": "QUARTERLY"})


Indicator = tuple[str, str, str]  # skp_id, rhk_id, indicator_id


async def _skps(api: Api, year: int) -> dict[str, Indicator]:
    """The head's RHK first; each supervisor's RHK supports it; each staff RHK supports their
    supervisor's: the cascade. The staff's indicators, by NIP."""
    top = "Terwujudnya ASN berkinerja tinggi"
    head = await _approved_skp(api, year, HEAD, SEKJEN, None, top)
    staff = {}
    for n, supervisor in enumerate(SUPERVISORS):
        text = ("Terkelolanya kinerja pegawai", "Terlaksananya mutasi tepat waktu")[n]
        theirs = await _approved_skp(api, year, supervisor, HEAD, head[1], text)
        for nip in STAFF[6 * n : 6 * n + 6]:
            own = f"Tersusunnya laporan: {text.lower()}"
            staff[nip] = await _approved_skp(api, year, nip, supervisor, theirs[1], own)
    return staff


async def _approved_skp(
    api: Api, year: int, nip: str, rater: str, parent: str | None, text: str
) -> Indicator:
    skp = await api.send(
        "targets", "POST", "/skps", nip, {"nip": nip, "year": year, "approach": "KUANTITATIF"}
    )
    indicator = {
        "aspect": "KUANTITAS",
        "text": "Laporan tersusun",
        "target_value": 12,
        "target_unit": "laporan",
    }
    body = {"text": text, "kind": "UTAMA", "parent_rhk_id": parent, "indicators": [indicator]}
    if nip in (HEAD, SEKJEN):
        body["perspective"] = "PROSES_BISNIS"  # a JPT groups RHK by the four perspectives
    rhk = await api.send("targets", "POST", f"/skps/{skp['skp_id']}/rhk", nip, body)
    await api.send("targets", "POST", f"/skps/{skp['skp_id']}/submit", nip)
    await api.send("targets", "POST", f"/skps/{skp['skp_id']}/approve", rater)
    return skp["skp_id"], rhk["rhk_id"], rhk["indicator_ids"][0]


async def _entries(api: Api, year: int, skps: dict[str, Indicator]) -> None:
    for n, nip in enumerate(STAFF):
        skp_id, rhk_id, indicator_id = skps[nip]
        plan = {"skp_id": skp_id, "indicator_id": indicator_id, "period": "Q1", "planned_value": 3}
        await api.send("journal", "POST", "/action-plans", nip, plan)
        for month, value in ((1, 1 + n % 2), (3, 1 + n % 3)):
            proof = {
                "uri": f"s3://arsip-biro-sdm/{nip}/{year}-{month:02d}.pdf",
                "sha256": hashlib.sha256(f"{nip}-{month}".encode()).hexdigest(),
                "media_type": "application/pdf",
            }
            entry = {
                "skp_id": skp_id,
                "rhk_id": rhk_id,
                "indicator_id": indicator_id,
                "date": f"{year}-{month:02d}-15",
                "description": f"Laporan bulan {month}",
                "realised_value": value,
                "evidence": [proof],
            }
            recorded = await api.send("journal", "POST", "/entries", nip, entry)
        feedback = {"text": "Terima kasih, lanjutkan."}
        path = f"/entries/{recorded['entry_id']}/feedback"
        await api.send("journal", "POST", path, SUPERVISORS[n // 6], feedback)


async def _appraisal(api: Api, year: int) -> None:
    for code, predikat in ((UNIT, "BAIK"), (BAGIAN[0], "BAIK"), (BAGIAN[1], "BUTUH_PERBAIKAN")):
        path = f"/units/{code}/organisation-predicates/{year}/Q1"
        await api.send("appraisal", "PUT", path, ADMIN, {"predikat": predikat})
    for n, nip in enumerate(STAFF):
        hasil, perilaku = STAFF_RATINGS[n]
        body = {"hasil_kerja": hasil, "perilaku_kerja": perilaku, "note": "Penilaian triwulan I"}
        await api.send(
            "appraisal", "POST", f"/evaluations/{nip}/{year}/Q1/rating", SUPERVISORS[n // 6], body
        )
    for nip, rater in ((SUPERVISORS[0], HEAD), (SUPERVISORS[1], HEAD), (HEAD, SEKJEN)):
        body = {"perilaku_kerja": ATAS}  # a unit head's Rating Hasil Kerja follows the unit
        await api.send("appraisal", "POST", f"/evaluations/{nip}/{year}/Q1/rating", rater, body)
    path = f"/evaluations/{APPELLANT}/{year}/Q1"
    reason = {"reason": "Perilaku kerja saya dinilai tanpa umpan balik sebelumnya"}
    await api.send("appraisal", "POST", f"{path}/appeal", APPELLANT, reason)
    decision = {
        "outcome": "CHANGED",
        "hasil_kerja": SESUAI,
        "perilaku_kerja": SESUAI,
        "note": "Umpan balik tidak diberikan; perilaku dinilai sesuai ekspektasi",
    }
    await api.send("appraisal", "POST", f"{path}/appeal/decision", HEAD, decision)
