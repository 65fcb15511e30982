"""A pegawai's contact: the address their email notifications go to, and whether they want
email at all. The inbox gets every notification either way; email is only a copy."""

import re

from shared.contracts.notify import ContactSet
from shared.domain.aggregate import Aggregate
from shared.domain.errors import RuleViolation
from shared.domain.nip import InvalidNip, check_nip
from shared.events.model import DomainEvent

MAX_ADDRESS_LENGTH = 254  # RFC 5321's limit on a forward path
# deliberately plain: a dot-atom local part and a domain of letter-digit-hyphen labels, which
# every agency mail system accepts; quoted local parts and IP literals are refused
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"(?P<local>{_LOCAL})@(?P<domain>{_LABEL}(\.{_LABEL})+)")


def check_email(address: str) -> str:
    """The address with its domain in lower case; RuleViolation when it is not one."""
    address = address.strip()
    found = _ADDRESS.fullmatch(address)
    if found is None or len(address) > MAX_ADDRESS_LENGTH or len(found["local"]) > 64:
        raise RuleViolation("email", f"{address!r} is not an email address (name@domain.go.id)")
    return f"{found['local']}@{found['domain'].lower()}"


class Contact(Aggregate):
    stream_prefix = "contact"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.email: str | None = None
        self.email_opt_out = False

    @property
    def nip(self) -> str:
        return self.identity

    @property
    def email_address(self) -> str | None:
        """Where email goes now: None when there is no address or they opted out."""
        return None if self.email_opt_out else self.email

    def set(self, email: str | None, email_opt_out: bool) -> None:
        """Set the address (None: none) and the opt-out; a change to nothing records nothing."""
        try:
            nip = check_nip(self.identity)
        except InvalidNip as error:
            raise RuleViolation("nip", str(error)) from None
        address = check_email(email) if email is not None else None
        if self.exists and (address, email_opt_out) == (self.email, self.email_opt_out):
            return
        self._record(ContactSet(nip=nip, email=address, email_opt_out=email_opt_out))

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case ContactSet():
                self.email, self.email_opt_out = event.email, event.email_opt_out
            case _:
                super()._apply(event)
