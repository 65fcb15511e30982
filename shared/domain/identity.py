"""Who acts: a pegawai (by NIP), an admin or an auditor. Handlers decide from it what a caller
may do; the HTTP layer makes it from a verified token."""

import re
from dataclasses import dataclass
from typing import Literal

IdentityKind = Literal["pegawai", "admin", "auditor"]

_NIP = re.compile(r"[0-9]{18}")
_ROLE = re.compile(r"(admin|auditor):([A-Za-z0-9._@-]{1,128})")
SUBJECT_RULE = "an 18-digit NIP, admin:<name> or auditor:<name>"


@dataclass(frozen=True)
class Identity:
    """The caller a verified token names."""

    subject: str
    kind: IdentityKind
    nip: str | None = None
    name: str | None = None

    @classmethod
    def from_subject(cls, subject: str) -> "Identity":
        if _NIP.fullmatch(subject):
            return cls(subject, "pegawai", nip=subject)
        role = _ROLE.fullmatch(subject)
        if role is None:
            raise ValueError(f"a subject is {SUBJECT_RULE}, not {subject!r}")
        kind: IdentityKind = "admin" if role[1] == "admin" else "auditor"
        return cls(subject, kind, name=role[2])

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"
