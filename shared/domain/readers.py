"""Who may read a pegawai's records (journal, worksheets, evaluations): the pegawai, whoever
rated them at any time, admins and auditors, and whoever else the record names."""

from collections.abc import Awaitable, Callable

from shared.domain.dated import DatedHistory
from shared.domain.errors import NotAllowed
from shared.domain.identity import Identity


async def check_may_read(
    nip: str,
    reader: Identity,
    raters: Callable[[str], Awaitable[DatedHistory]],
    *,
    also: str | None = None,
    what: str = "these records",
) -> None:
    """NotAllowed unless `reader` may read `nip`'s `what`; the raters are looked up only
    when the reader is none of the others."""
    if reader.kind in ("admin", "auditor") or reader.nip in (nip, also):
        return
    if reader.nip not in (await raters(nip)).holders():
        raise NotAllowed(f"only pegawai {nip}, their raters, admins and auditors read {what}")
