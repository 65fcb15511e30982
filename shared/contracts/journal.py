"""Events of the journal service, on `kinerja.journal.v1`: progress entries with evidence,
their corrections, the pejabat penilai's feedback, and action plans. Subject: the NIP."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.catalog import catalog
from shared.domain.nip import Nip
from shared.events.model import DomainEvent


class Evidence(BaseModel):
    """A bukti dukung: the file stays in the agency's store; this names it and its hash."""

    model_config = ConfigDict(frozen=True)

    uri: str = Field(min_length=1, max_length=2000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str | None = None


@catalog.register
class EntryRecorded(DomainEvent):
    """A pegawai recorded what they did against an indicator of their approved SKP."""

    type_name = "kinerja.journal.entry-recorded"
    entry_id: str
    nip: Nip
    skp_id: str
    rhk_id: str
    indicator_id: str
    date: date
    description: str
    realised_value: float | None
    realised_text: str | None
    evidence: list[Evidence]


@catalog.register
class EntryCorrected(DomainEvent):
    """The entry as it should have read; the recorded one stays in the history."""

    type_name = "kinerja.journal.entry-corrected"
    entry_id: str
    date: date
    description: str
    realised_value: float | None
    realised_text: str | None
    evidence: list[Evidence]


@catalog.register
class FeedbackGiven(DomainEvent):
    """Umpan balik: the pejabat penilai answered an entry."""

    type_name = "kinerja.journal.feedback-given"
    entry_id: str
    given_by: Nip
    text: str


@catalog.register
class ActionPlanSet(DomainEvent):
    """Rencana aksi: what the pegawai plans to deliver on an indicator in a period."""

    type_name = "kinerja.journal.action-plan-set"
    plan_id: str
    nip: Nip
    skp_id: str
    indicator_id: str
    period: str
    planned_value: float | None
    planned_text: str | None
