"""Events of the targets service, on `kinerja.targets.v1`: the roster, performance years and
SKPs. Their subject (the Kafka key) is the pegawai's NIP; for a unit it is `unit:<code>`,
for a year `year:<year>`."""

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.contracts.catalog import catalog
from shared.domain.nip import Nip
from shared.events.model import DomainEvent


class JobType(StrEnum):
    JPT = "JPT"
    ADMINISTRATOR = "ADMINISTRATOR"
    PENGAWAS = "PENGAWAS"
    FUNGSIONAL = "FUNGSIONAL"
    PELAKSANA = "PELAKSANA"


class Frequency(StrEnum):
    QUARTERLY = "QUARTERLY"
    MONTHLY = "MONTHLY"


class Approach(StrEnum):
    KUANTITATIF = "KUANTITATIF"
    KUALITATIF = "KUALITATIF"


class RhkKind(StrEnum):
    UTAMA = "UTAMA"
    TAMBAHAN = "TAMBAHAN"


class Aspect(StrEnum):
    KUANTITAS = "KUANTITAS"
    KUALITAS = "KUALITAS"
    WAKTU = "WAKTU"
    BIAYA = "BIAYA"


class Perspective(StrEnum):
    """The four perspectives a JPT groups RHK by."""

    PENERIMA_LAYANAN = "PENERIMA_LAYANAN"
    PENGUATAN_INTERNAL = "PENGUATAN_INTERNAL"
    PROSES_BISNIS = "PROSES_BISNIS"
    ANGGARAN = "ANGGARAN"


class BerAkhlak(StrEnum):
    """The seven core values of ASN behaviour (Perilaku Kerja)."""

    BERORIENTASI_PELAYANAN = "BERORIENTASI_PELAYANAN"
    AKUNTABEL = "AKUNTABEL"
    KOMPETEN = "KOMPETEN"
    HARMONIS = "HARMONIS"
    LOYAL = "LOYAL"
    ADAPTIF = "ADAPTIF"
    KOLABORATIF = "KOLABORATIF"


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str  # Q1..Q4 or M01..M12
    starts: date
    ends: date


class Indicator(BaseModel):
    """An Indikator Kinerja Individu: a numeric target with its unit (kuantitatif) or a
    narrative target (kualitatif)."""

    model_config = ConfigDict(frozen=True)

    indicator_id: str
    aspect: Aspect
    text: str
    target_value: float | None = None
    target_unit: str | None = None
    target_text: str | None = None


@catalog.register
class UnitCreated(DomainEvent):
    """A unit of the agency's organisation tree was created."""

    type_name = "kinerja.targets.unit-created"
    code: str
    name: str
    parent_code: str | None


@catalog.register
class UnitHeadAppointed(DomainEvent):
    """From `effective_from` on, `head_nip` heads the unit: their Rating Hasil Kerja follows
    the unit's organisation predicate."""

    type_name = "kinerja.targets.unit-head-appointed"
    code: str
    head_nip: Nip
    effective_from: date


@catalog.register
class EmployeeRegistered(DomainEvent):
    """A pegawai joined the roster."""

    type_name = "kinerja.targets.employee-registered"
    nip: Nip
    name: str
    position: str
    unit_code: str
    job_type: JobType


@catalog.register
class SupervisorAssigned(DomainEvent):
    """From `effective_from` on, `supervisor_nip` is this pegawai's pejabat penilai."""

    type_name = "kinerja.targets.supervisor-assigned"
    nip: Nip
    supervisor_nip: Nip
    effective_from: date


@catalog.register
class PerformanceYearOpened(DomainEvent):
    """An admin opened a performance year; its frequency fixed its periods."""

    type_name = "kinerja.targets.performance-year-opened"
    year: int
    frequency: Frequency
    periods: list[Period]


@catalog.register
class SkpDrafted(DomainEvent):
    """A pegawai started the SKP of a year."""

    type_name = "kinerja.targets.skp-drafted"
    skp_id: str
    nip: Nip
    year: int
    approach: Approach


@catalog.register
class RhkAdded(DomainEvent):
    """A Rencana Hasil Kerja with its indicators, linked to the superior's RHK it supports."""

    type_name = "kinerja.targets.rhk-added"
    skp_id: str
    rhk_id: str
    text: str
    kind: RhkKind
    parent_rhk_id: str | None
    perspective: Perspective | None
    indicators: list[Indicator]


@catalog.register
class RhkChanged(DomainEvent):
    """An RHK of a draft was rewritten (all of it: text, kind, link, indicators)."""

    type_name = "kinerja.targets.rhk-changed"
    skp_id: str
    rhk_id: str
    text: str
    kind: RhkKind
    parent_rhk_id: str | None
    perspective: Perspective | None
    indicators: list[Indicator]


@catalog.register
class RhkRemoved(DomainEvent):
    type_name = "kinerja.targets.rhk-removed"
    skp_id: str
    rhk_id: str


@catalog.register
class BehaviourExpectationsSet(DomainEvent):
    """The pejabat penilai's specific expectation for each of the seven BerAKHLAK values."""

    type_name = "kinerja.targets.behaviour-expectations-set"
    skp_id: str
    set_by: Nip
    expectations: dict[BerAkhlak, str]


@catalog.register
class SkpSubmitted(DomainEvent):
    type_name = "kinerja.targets.skp-submitted"
    skp_id: str
    version: int


@catalog.register
class SkpApproved(DomainEvent):
    type_name = "kinerja.targets.skp-approved"
    skp_id: str
    version: int
    approved_by: Nip


@catalog.register
class SkpReturned(DomainEvent):
    """The pejabat penilai sent a submitted SKP back to draft, saying why."""

    type_name = "kinerja.targets.skp-returned"
    skp_id: str
    version: int
    returned_by: Nip
    reason: str


@catalog.register
class SkpRevisionOpened(DomainEvent):
    """An approved SKP is being revised: a new version in draft; the approved one is kept."""

    type_name = "kinerja.targets.skp-revision-opened"
    skp_id: str
    version: int
