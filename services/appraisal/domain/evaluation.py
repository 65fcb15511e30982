"""The evaluation of one pegawai's period (or year): the pejabat penilai's ratings, their
amendments, the predicate that follows, and one appeal decided by the atasan pejabat penilai.

Times come in as arguments, in the agency's time zone: the domain never reads a clock.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.appraisal.domain.facts import PeriodFacts
from services.appraisal.domain.predikat import predikat_of
from services.appraisal.domain.results import ResultRules
from shared.contracts.appraisal import (
    AppealDecided,
    AppealFiled,
    AppealOutcome,
    HasilKerjaSource,
    OrganisationPredikat,
    Predikat,
    PredikatCause,
    PredikatDetermined,
    Rating,
    RatingGiven,
)
from shared.domain.aggregate import Aggregate
from shared.domain.errors import NotAllowed, RuleViolation, WrongState
from shared.events.model import DomainEvent

APPEAL_DAYS = 14


@dataclass(frozen=True)
class Result:
    hasil_kerja: Rating
    hasil_kerja_source: HasilKerjaSource
    perilaku_kerja: Rating
    predikat: Predikat
    by: str


@dataclass
class Appeal:
    reason: str
    filed_at: datetime
    decider: str
    outcome: AppealOutcome | None = None


class Evaluation(Aggregate):
    stream_prefix = "evaluation"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.nip, year, self.period = identity.split(":")
        self.year = int(year)
        self.result: Result | None = None
        self.appeal_until: date | None = None
        self.appeal: Appeal | None = None

    @staticmethod
    def id_of(nip: str, year: int, period: str) -> str:
        return f"{nip}:{year}:{period}"

    def rate(
        self,
        actor_nip: str | None,
        facts: PeriodFacts,
        ratings: tuple[Rating | None, Rating],
        note: str | None,
        at: datetime,
        organisation: OrganisationPredikat | None,
        rules: ResultRules,
    ) -> None:
        """Rate the period once it has ended; a later rating amends (history kept). A unit
        head's Rating Hasil Kerja follows `organisation`, their unit's predicate."""
        if at.date() <= facts.ends:
            raise WrongState(f"{self.period} {self.year} ends on {facts.ends}; rate it after")
        if facts.rater is None:
            raise WrongState(f"pegawai {self.nip} had no pejabat penilai on {facts.ends}")
        if actor_nip != facts.rater:
            raise NotAllowed(
                f"only {facts.rater}, the pejabat penilai of {self.nip} on {facts.ends}, rates"
            )
        if self.appeal is not None:
            raise WrongState("the result is under appeal or decided on appeal; it is final")
        hasil_kerja, source = _hasil_kerja(ratings[0], organisation, rules)
        perilaku_kerja = ratings[1]
        amends = self.result is not None
        self._record(
            RatingGiven(
                evaluation_id=self.identity, nip=self.nip, year=self.year, period=self.period,
                hasil_kerja=hasil_kerja, hasil_kerja_source=source, perilaku_kerja=perilaku_kerja,
                predikat=predikat_of(hasil_kerja, perilaku_kerja), rated_by=facts.rater,
                rated_at=at, appeal_until=at.date() + timedelta(days=APPEAL_DAYS),
                note=(note or "").strip() or None, amends=amends,
            )
        )  # fmt: skip
        self._determined(PredikatCause.AMENDMENT if amends else PredikatCause.RATING, rules)

    def file_appeal(
        self, actor_nip: str | None, facts: PeriodFacts, reason: str, at: datetime
    ) -> None:
        """Keberatan, by the pegawai, within 14 days of the (last) rating; one per result."""
        if self.result is None or self.appeal_until is None:
            raise WrongState(f"{self.period} {self.year} of {self.nip} is not rated yet")
        if actor_nip != self.nip:
            raise NotAllowed(f"only pegawai {self.nip} appeals their result")
        if self.appeal is not None:
            raise WrongState("an appeal was already filed on this result; there is no second")
        if at.date() > self.appeal_until:
            raise WrongState(f"the appeal window closed on {self.appeal_until}")
        if not reason.strip():
            raise RuleViolation("reason", "say why the result is wrong")
        if facts.atasan_rater is None:
            raise WrongState(f"{self.result.by} had no pejabat penilai to decide an appeal")
        self._record(
            AppealFiled(
                evaluation_id=self.identity, nip=self.nip, year=self.year, period=self.period,
                reason=reason.strip(), filed_at=at, decider_nip=facts.atasan_rater,
            )
        )  # fmt: skip

    def decide_appeal(
        self,
        actor_nip: str | None,
        outcome: AppealOutcome,
        ratings: tuple[Rating | None, Rating | None],
        note: str,
        at: datetime,
        rules: ResultRules,
    ) -> None:
        """The atasan pejabat penilai's final word: UPHELD keeps the ratings, CHANGED gives
        new ones."""
        if self.appeal is None or self.result is None:
            raise WrongState("there is no appeal to decide")
        if self.appeal.outcome is not None:
            raise WrongState("the appeal is decided; the decision is final")
        if actor_nip != self.appeal.decider:
            raise NotAllowed(f"only {self.appeal.decider}, the atasan pejabat penilai, decides")
        if not note.strip():
            raise RuleViolation("note", "say why the appeal was decided so")
        hasil_kerja, perilaku_kerja = self._decided_ratings(outcome, ratings)
        self._record(
            AppealDecided(
                evaluation_id=self.identity, nip=self.nip, year=self.year, period=self.period,
                outcome=outcome, hasil_kerja=hasil_kerja, perilaku_kerja=perilaku_kerja,
                predikat=predikat_of(hasil_kerja, perilaku_kerja), decided_by=self.appeal.decider,
                decided_at=at, note=note.strip(),
            )
        )  # fmt: skip
        if outcome is AppealOutcome.CHANGED:
            self._determined(PredikatCause.APPEAL, rules)

    def _decided_ratings(
        self, outcome: AppealOutcome, ratings: tuple[Rating | None, Rating | None]
    ) -> tuple[Rating, Rating]:
        assert self.result is not None
        hasil_kerja, perilaku_kerja = ratings
        if outcome is AppealOutcome.UPHELD:
            if ratings != (None, None):
                raise RuleViolation("outcome", "UPHELD keeps the ratings; CHANGED gives new ones")
            return self.result.hasil_kerja, self.result.perilaku_kerja
        if hasil_kerja is None or perilaku_kerja is None:
            field = "hasil_kerja" if hasil_kerja is None else "perilaku_kerja"
            raise RuleViolation(field, "CHANGED gives both new ratings")
        return hasil_kerja, perilaku_kerja

    def _determined(self, cause: PredikatCause, rules: ResultRules) -> None:
        assert self.result is not None
        self._record(rules.determined(self.identity, self.year, self.period, self.result, cause))

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case RatingGiven():
                self.result = Result(
                    event.hasil_kerja, event.hasil_kerja_source, event.perilaku_kerja,
                    event.predikat, event.rated_by,
                )  # fmt: skip
                self.appeal_until = event.appeal_until
            case AppealFiled():
                self.appeal = Appeal(event.reason, event.filed_at, event.decider_nip)
            case AppealDecided():
                assert self.appeal is not None
                assert self.result is not None
                self.appeal.outcome = event.outcome
                self.result = Result(
                    event.hasil_kerja, self.result.hasil_kerja_source, event.perilaku_kerja,
                    event.predikat, self.result.by,
                )  # fmt: skip
            case PredikatDetermined():
                pass  # the output of a change already applied
            case _:
                super()._apply(event)


def _hasil_kerja(
    given: Rating | None, organisation: OrganisationPredikat | None, rules: ResultRules
) -> tuple[Rating, HasilKerjaSource]:
    if organisation is None:
        if given is None:
            raise RuleViolation("hasil_kerja", "give the Rating Hasil Kerja")
        return given, HasilKerjaSource.PEJABAT_PENILAI
    derived = rules.unit_head.hasil_kerja_for(organisation)
    if given is not None and given != derived:
        raise RuleViolation(
            "hasil_kerja",
            f"a unit head's Rating Hasil Kerja follows the unit's predicate {organisation}:"
            f" {derived}",
        )
    return derived, HasilKerjaSource.ORGANISATION
