"""Events of the appraisal service, on `kinerja.appraisal.v1`: ratings, their amendments,
appeals, organisation predicates, and the determined predicate other systems act on.
Subject: the rated pegawai's NIP; for a unit's organisation predicate `unit:<code>`."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.contracts.catalog import catalog
from shared.domain.nip import Nip
from shared.events.model import DomainEvent

ANNUAL = "ANNUAL"


class Rating(StrEnum):
    """Rating Hasil Kerja or Rating Perilaku Kerja, against the expectation."""

    DI_ATAS_EKSPEKTASI = "DI_ATAS_EKSPEKTASI"
    SESUAI_EKSPEKTASI = "SESUAI_EKSPEKTASI"
    DI_BAWAH_EKSPEKTASI = "DI_BAWAH_EKSPEKTASI"


class Predikat(StrEnum):
    """Predikat Kinerja Pegawai, from the two ratings by the matrix of PermenPANRB 6/2022."""

    SANGAT_BAIK = "SANGAT_BAIK"
    BAIK = "BAIK"
    BUTUH_PERBAIKAN = "BUTUH_PERBAIKAN"
    KURANG = "KURANG"
    SANGAT_KURANG = "SANGAT_KURANG"


class OrganisationPredikat(StrEnum):
    """The predicate a unit receives from the level above; it bounds its employees' curve."""

    ISTIMEWA = "ISTIMEWA"
    BAIK = "BAIK"
    BUTUH_PERBAIKAN = "BUTUH_PERBAIKAN"
    KURANG = "KURANG"
    SANGAT_KURANG = "SANGAT_KURANG"


class HasilKerjaSource(StrEnum):
    """Where a Rating Hasil Kerja came from: the rater, or (for a unit head) the unit's
    organisation predicate."""

    PEJABAT_PENILAI = "PEJABAT_PENILAI"
    ORGANISATION = "ORGANISATION"


class AppealOutcome(StrEnum):
    UPHELD = "UPHELD"
    CHANGED = "CHANGED"


class PredikatCause(StrEnum):
    RATING = "RATING"
    AMENDMENT = "AMENDMENT"
    APPEAL = "APPEAL"


@catalog.register
class RatingGiven(DomainEvent):
    """The pejabat penilai rated a period (or the year) of a pegawai; the predicate follows
    from the two ratings. A later one of the same period amends it."""

    type_name = "kinerja.appraisal.rating-given"
    evaluation_id: str
    nip: Nip
    year: int
    period: str
    hasil_kerja: Rating
    hasil_kerja_source: HasilKerjaSource
    perilaku_kerja: Rating
    predikat: Predikat
    rated_by: Nip
    rated_at: datetime
    appeal_until: date
    note: str | None
    amends: bool


@catalog.register
class AppealFiled(DomainEvent):
    """Keberatan: the pegawai objected to the result, to the atasan pejabat penilai."""

    type_name = "kinerja.appraisal.appeal-filed"
    evaluation_id: str
    nip: Nip
    year: int
    period: str
    reason: str
    filed_at: datetime
    decider_nip: Nip


@catalog.register
class AppealDecided(DomainEvent):
    """The atasan pejabat penilai decided the appeal; final. CHANGED carries the new ratings
    and predicate."""

    type_name = "kinerja.appraisal.appeal-decided"
    evaluation_id: str
    nip: Nip
    year: int
    period: str
    outcome: AppealOutcome
    hasil_kerja: Rating
    perilaku_kerja: Rating
    predikat: Predikat
    decided_by: Nip
    decided_at: datetime
    note: str


@catalog.register
class OrganisationPredicateSet(DomainEvent):
    """An admin recorded the predicate a unit received for a period (a later one replaces
    it)."""

    type_name = "kinerja.appraisal.organisation-predicate-set"
    unit_code: str
    year: int
    period: str
    predikat: OrganisationPredikat
    set_by: str


@catalog.register
class PredikatDetermined(DomainEvent):
    """The predicate of a pegawai for a period, as payroll, career and credit-point systems
    act on it: sent on every rating, amendment and appeal decision that sets it."""

    type_name = "kinerja.appraisal.predikat-determined"
    evaluation_id: str
    nip: Nip
    year: int
    period: str
    predikat: Predikat
    hasil_kerja: Rating
    perilaku_kerja: Rating
    cause: PredikatCause
    rules_version: str
    credit_point_percentage: int
    tukin_factor: float
    tukin_rule_version: str


class Breach(BaseModel):
    """One limit of the curve that does not hold, with its numbers."""

    model_config = ConfigDict(frozen=True)

    rule: str
    limit: str
    actual: str


@catalog.register
class DistributionJudged(DomainEvent):
    """Whether a unit's predicates keep to the curve of its organisation predicate, each
    time that answer (or a breached limit) changes. Guidance for the leader; nothing is
    refused because of it."""

    type_name = "kinerja.appraisal.distribution-judged"
    unit_code: str
    year: int
    period: str
    organisation_predikat: OrganisationPredikat
    rules_version: str
    rated: int
    holds: bool
    breaches: list[Breach]
