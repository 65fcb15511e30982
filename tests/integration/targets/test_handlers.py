"""The targets handlers on the real event store: who may give each command, and races."""

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.targets.domain.skp import skp_id
from services.targets.service_layer import commands as c
from services.targets.service_layer.handlers import Done, TargetsService
from shared.contracts.catalog import full_catalog
from shared.contracts.targets import Approach, Aspect, BerAkhlak, Frequency, JobType, RhkKind
from shared.domain.errors import NotAllowed, WrongState
from shared.domain.identity import Identity
from shared.store.errors import ConcurrencyError
from shared.store.event_store import CommandContext, EventStore
from shared.store.repository import Repository

KEPALA, BUDI, ANDI, SITI = (
    "197001011995031001", "198003032005011002", "199001012015031001", "199205152018012002",
)  # fmt: skip
ADMIN, AUDITOR = Identity.from_subject("admin:biro-sdm"), Identity.from_subject("auditor:bpk")
TODAY = date(2026, 3, 15)


def pegawai(nip: str) -> Identity:
    return Identity.from_subject(nip)


def context(actor: Identity) -> CommandContext:
    return CommandContext(actor.subject, "test", datetime.now(UTC))


@pytest.fixture
async def service(pool: asyncpg.Pool) -> TargetsService:
    """An agency: Kepala rates Budi and (until March) Siti; Budi rates Andi and Siti from March."""
    store = EventStore(pool, f"targets_{uuid.uuid4().hex[:8]}")
    await store.migrate()
    ids = (f"id-{n}" for n in itertools.count())
    targets = TargetsService(Repository(store, full_catalog()), lambda: TODAY, lambda: next(ids))
    await targets.create_unit(c.CreateUnit("BIRO", "Biro SDM"), ADMIN, context(ADMIN))
    for nip, job in (
        (KEPALA, JobType.JPT),
        (BUDI, JobType.ADMINISTRATOR),
        (ANDI, JobType.FUNGSIONAL),
        (SITI, JobType.FUNGSIONAL),
    ):
        await targets.register_employee(
            c.RegisterEmployee(nip, f"Pegawai {nip[-3:]}", "Jabatan", "BIRO", job),
            ADMIN,
            context(ADMIN),
        )
    for nip, rater, since in (
        (BUDI, KEPALA, date(2026, 1, 1)),
        (ANDI, BUDI, date(2026, 1, 1)),
        (SITI, KEPALA, date(2026, 1, 1)),
        (SITI, BUDI, date(2026, 3, 1)),
    ):
        await targets.assign_supervisor(
            c.AssignSupervisor(nip, rater, since), ADMIN, context(ADMIN)
        )
    await targets.open_year(c.OpenYear(2026, Frequency.QUARTERLY), ADMIN, context(ADMIN))
    return targets


async def submitted_skp(targets: TargetsService, nip: str) -> str:
    me = pegawai(nip)
    await targets.draft_skp(c.DraftSkp(nip, 2026, Approach.KUANTITATIF), me, context(me))
    indicator = c.NewIndicator(Aspect.KUANTITAS, "Dokumen tersusun", 4, "dokumen")
    await targets.add_rhk(
        c.AddRhk(skp_id(nip, 2026), "Tersusunnya dokumen", RhkKind.UTAMA, [indicator]),
        me,
        context(me),
    )
    await targets.submit_skp(c.SubmitSkp(skp_id(nip, 2026)), me, context(me))
    return skp_id(nip, 2026)


Command = Callable[[TargetsService, Identity], Awaitable[object]]


async def _approve(t: TargetsService, who: Identity) -> object:
    return await t.approve_skp(c.ApproveSkp(skp_id(SITI, 2026)), who, context(who))


async def _return(t: TargetsService, who: Identity) -> object:
    return await t.return_skp(c.ReturnSkp(skp_id(SITI, 2026), "Perbaiki target"), who, context(who))


async def _expect(t: TargetsService, who: Identity) -> object:
    expectations = {value.value: "Harapan" for value in BerAkhlak}
    return await t.set_behaviour_expectations(
        c.SetBehaviourExpectations(skp_id(SITI, 2026), expectations), who, context(who)
    )


@pytest.mark.parametrize(
    "command", [_approve, _return, _expect], ids=["approve", "return", "expectations"]
)
@pytest.mark.parametrize(
    "wrong",
    [pegawai(SITI), pegawai(ANDI), pegawai(KEPALA), AUDITOR, ADMIN],
    ids=["the pegawai", "a peer", "the former supervisor", "an auditor", "an admin"],
)
async def test_only_todays_pejabat_penilai_rates_the_skp(
    service: TargetsService, command: Command, wrong: Identity
) -> None:
    await submitted_skp(service, SITI)

    with pytest.raises(NotAllowed):
        await command(service, wrong)
    await command(service, pegawai(BUDI))  # Siti's pejabat penilai since 1 March


async def test_only_the_pegawai_writes_their_skp(service: TargetsService) -> None:
    for wrong in (pegawai(SITI), pegawai(BUDI), AUDITOR, ADMIN):
        with pytest.raises(NotAllowed):
            await service.draft_skp(
                c.DraftSkp(ANDI, 2026, Approach.KUANTITATIF), wrong, context(wrong)
            )
    await submitted_skp(service, ANDI)
    for wrong in (pegawai(SITI), pegawai(BUDI), AUDITOR):
        with pytest.raises(NotAllowed):
            await service.revise_skp(c.ReviseSkp(skp_id(ANDI, 2026)), wrong, context(wrong))


async def test_only_an_admin_keeps_the_roster(service: TargetsService) -> None:
    for wrong in (pegawai(KEPALA), AUDITOR):
        with pytest.raises(NotAllowed):
            await service.create_unit(c.CreateUnit("BAG", "Bagian"), wrong, context(wrong))
        with pytest.raises(NotAllowed):
            await service.open_year(c.OpenYear(2027, Frequency.MONTHLY), wrong, context(wrong))


async def test_a_cascade_link_must_name_an_rhk_of_the_supervisors_skp(
    service: TargetsService,
) -> None:
    budi = pegawai(BUDI)
    await service.draft_skp(c.DraftSkp(BUDI, 2026, Approach.KUANTITATIF), budi, context(budi))
    parent = await service.add_rhk(
        c.AddRhk(skp_id(BUDI, 2026), "Terkelolanya SDM", RhkKind.UTAMA), budi, context(budi)
    )
    andi = pegawai(ANDI)
    await service.draft_skp(c.DraftSkp(ANDI, 2026, Approach.KUANTITATIF), andi, context(andi))

    linked = await service.add_rhk(
        c.AddRhk(skp_id(ANDI, 2026), "Terdatanya pegawai", RhkKind.UTAMA, parent_rhk_id=parent.id),
        andi,
        context(andi),
    )

    assert (linked.id, linked.version) == ("id-1", 2)
    with pytest.raises(Exception, match="parent_rhk_id"):
        await service.add_rhk(
            c.AddRhk(skp_id(ANDI, 2026), "Lain", RhkKind.UTAMA, parent_rhk_id="id-of-nobody"),
            andi,
            context(andi),
        )


async def test_two_approvals_racing_give_one_success_and_one_conflict(
    service: TargetsService,
) -> None:
    await submitted_skp(service, ANDI)
    budi = pegawai(BUDI)

    results = await asyncio.gather(
        *(
            service.approve_skp(c.ApproveSkp(skp_id(ANDI, 2026)), budi, context(budi))
            for _ in range(2)
        ),
        return_exceptions=True,
    )

    done = [r for r in results if isinstance(r, Done)]
    refused = [r for r in results if isinstance(r, ConcurrencyError | WrongState)]
    # the loser either lost the append (it loaded first) or found it approved (it loaded after)
    assert (len(done), len(refused)) == (1, 1)


PEGAWAI_WRONG = [pegawai(ANDI), pegawai(BUDI), pegawai(KEPALA), AUDITOR, ADMIN]
PEGAWAI_WRONG_IDS = [
    "a peer",
    "the pejabat penilai",
    "the former supervisor",
    "an auditor",
    "an admin",
]


async def _draft(t: TargetsService, who: Identity) -> object:
    return await t.draft_skp(c.DraftSkp(SITI, 2026, Approach.KUANTITATIF), who, context(who))


async def _add_rhk(t: TargetsService, who: Identity) -> object:
    indicator = c.NewIndicator(Aspect.KUANTITAS, "Dokumen", 2, "dokumen")
    command = c.AddRhk(skp_id(SITI, 2026), "RHK", RhkKind.UTAMA, [indicator])
    return await t.add_rhk(command, who, context(who))


async def _submit(t: TargetsService, who: Identity) -> object:
    return await t.submit_skp(c.SubmitSkp(skp_id(SITI, 2026)), who, context(who))


async def _revise(t: TargetsService, who: Identity) -> object:
    return await t.revise_skp(c.ReviseSkp(skp_id(SITI, 2026)), who, context(who))


async def _nothing(t: TargetsService) -> None:
    return None


async def _drafted(t: TargetsService) -> None:
    siti = pegawai(SITI)
    await t.draft_skp(c.DraftSkp(SITI, 2026, Approach.KUANTITATIF), siti, context(siti))


async def _with_rhk(t: TargetsService) -> None:
    await _drafted(t)
    await _add_rhk(t, pegawai(SITI))


async def _approved(t: TargetsService) -> None:
    await submitted_skp(t, SITI)
    await _approve(t, pegawai(BUDI))


@pytest.mark.parametrize(
    ("command", "before"),
    [(_draft, _nothing), (_add_rhk, _drafted), (_submit, _with_rhk), (_revise, _approved)],
    ids=["draft", "add RHK", "submit", "revise"],
)
@pytest.mark.parametrize("wrong", PEGAWAI_WRONG, ids=PEGAWAI_WRONG_IDS)
async def test_each_skp_command_of_the_pegawai_is_theirs_alone(
    service: TargetsService,
    command: Command,
    before: Callable[[TargetsService], Awaitable[None]],
    wrong: Identity,
) -> None:
    await before(service)

    with pytest.raises(NotAllowed):
        await command(service, wrong)
    await command(service, pegawai(SITI))


async def _create_unit(t: TargetsService, who: Identity) -> object:
    return await t.create_unit(c.CreateUnit("BAG", "Bagian", "BIRO"), who, context(who))


async def _register(t: TargetsService, who: Identity) -> object:
    command = c.RegisterEmployee("199509092020121003", "Baru", "Analis", "BIRO", JobType.PELAKSANA)
    return await t.register_employee(command, who, context(who))


async def _assign(t: TargetsService, who: Identity) -> object:
    command = c.AssignSupervisor(ANDI, KEPALA, date(2026, 4, 1))
    return await t.assign_supervisor(command, who, context(who))


async def _open_year(t: TargetsService, who: Identity) -> object:
    return await t.open_year(c.OpenYear(2027, Frequency.MONTHLY), who, context(who))


@pytest.mark.parametrize(
    "command",
    [_create_unit, _register, _assign, _open_year],
    ids=["unit", "employee", "supervisor", "year"],
)
@pytest.mark.parametrize(
    "wrong",
    [pegawai(ANDI), pegawai(KEPALA), AUDITOR],
    ids=["a pegawai", "a pejabat penilai", "an auditor"],
)
async def test_each_roster_and_year_command_is_an_admins(
    service: TargetsService, command: Command, wrong: Identity
) -> None:
    with pytest.raises(NotAllowed):
        await command(service, wrong)
    await command(service, ADMIN)
