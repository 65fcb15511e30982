"""The journal decides from its own view of the targets, fed from Kafka: an entry that comes
before the journal has seen the SKP's approval is refused with a 409-kind error, and the same
entry succeeds once the projection has caught up."""

import asyncio
from datetime import date

import pytest

from services.journal.domain.entry import Realisation
from services.journal.service_layer.handlers import RecordEntry
from services.targets.domain.skp import skp_id
from services.targets.service_layer import commands as c
from shared.contracts.journal import Evidence
from shared.contracts.targets import Approach, Aspect, Frequency, JobType, RhkKind
from shared.domain.errors import NotYetSeen, WrongState
from shared.domain.identity import Identity
from tests.integration.journal.world import World, as_, context

KEPALA, ANDI = "197001011995031001", "199001012015031001"
ADMIN = Identity.from_subject("admin:biro")


async def test_an_entry_before_the_approval_is_seen_is_refused_then_accepted_once_caught_up(
    world: World,
) -> None:
    targets, journal = world.targets, world.journal
    await targets.create_unit(c.CreateUnit("BIRO", "Biro"), ADMIN, context(ADMIN))
    for nip, job in ((KEPALA, JobType.JPT), (ANDI, JobType.FUNGSIONAL)):
        await targets.register_employee(
            c.RegisterEmployee(nip, "P", "J", "BIRO", job), ADMIN, context(ADMIN)
        )
    await targets.assign_supervisor(
        c.AssignSupervisor(ANDI, KEPALA, date(2026, 1, 1)), ADMIN, context(ADMIN)
    )
    await targets.open_year(c.OpenYear(2026, Frequency.QUARTERLY), ADMIN, context(ADMIN))
    andi = as_(ANDI)
    the_skp = skp_id(ANDI, 2026)
    proof = Evidence(uri="s3://x/a.pdf", sha256="cd" * 32)
    done_in_march = Realisation(date(2026, 3, 20), "Laporan selesai", 1, None, (proof,))
    entry = RecordEntry(the_skp, "id-0", "id-1", done_in_march)

    with pytest.raises(NotYetSeen):  # nothing of this SKP has reached the journal
        await journal.record_entry(entry, andi, context(andi))

    await targets.draft_skp(c.DraftSkp(ANDI, 2026, Approach.KUANTITATIF), andi, context(andi))
    indicator = c.NewIndicator(Aspect.KUANTITAS, "Laporan", 4, "laporan")
    rhk = c.AddRhk(the_skp, "Tersusunnya laporan", RhkKind.UTAMA, [indicator])
    await targets.add_rhk(rhk, andi, context(andi))
    await targets.submit_skp(c.SubmitSkp(the_skp), andi, context(andi))
    async with asyncio.timeout(60):  # the journal sees the submitted SKP, not yet approved
        while await journal.view.skp(the_skp) is None:
            await asyncio.sleep(0.05)
    with pytest.raises(WrongState, match="not approved"):
        await journal.record_entry(entry, andi, context(andi))

    kepala = as_(KEPALA)
    await targets.approve_skp(c.ApproveSkp(the_skp), kepala, context(kepala))
    async with asyncio.timeout(60):  # retried as a client would, until the projection caught up
        while True:
            try:
                done = await journal.record_entry(entry, andi, context(andi))
                break
            except WrongState:
                await asyncio.sleep(0.1)

    assert done.version == 1
    feedback = await journal.give_feedback(done.id, "Terima kasih", kepala, context(kepala))
    assert feedback.version == 2
