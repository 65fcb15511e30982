"""Where a pegawai's email goes and whether they want it: set by themselves or an admin."""

from dataclasses import dataclass

from services.notify.domain.contact import Contact
from shared.domain.errors import NotAllowed
from shared.domain.identity import Identity
from shared.store.event_store import CommandContext
from shared.store.repository import Repository


@dataclass(frozen=True)
class ContactHandlers:
    repository: Repository

    async def set_contact(
        self,
        nip: str,
        email: str | None,
        email_opt_out: bool,
        actor: Identity,
        context: CommandContext,
    ) -> int:
        """The contact's stream version after it (unchanged when nothing changed)."""
        if not (actor.is_admin or actor.nip == nip):
            raise NotAllowed(f"only pegawai {nip} or an admin sets where their email goes")
        contact = await self.repository.load(Contact, nip)
        contact.set(email, email_opt_out)
        await self.repository.save(contact, subject=nip, context=context)
        return contact.version
