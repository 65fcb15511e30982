"""A progress entry: what a pegawai did against one indicator of their approved SKP, on a
date, with its evidence. Corrections are new events; the recorded entry stays."""

from dataclasses import dataclass
from datetime import date

from services.journal.domain.view import SkpView
from shared.contracts.journal import EntryCorrected, EntryRecorded, Evidence, FeedbackGiven
from shared.domain.aggregate import Aggregate
from shared.domain.dated import DatedHistory
from shared.domain.errors import NotAllowed, RuleViolation, WrongState
from shared.events.model import DomainEvent


@dataclass(frozen=True)
class Realisation:
    """The content of an entry, as recorded or as corrected."""

    date: date
    description: str
    realised_value: float | None
    realised_text: str | None
    evidence: tuple[Evidence, ...]


class Entry(Aggregate):
    stream_prefix = "entry"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.nip = ""
        self.skp_id = ""
        self.indicator_id = ""
        self.current: Realisation | None = None
        self.feedback: list[tuple[str, str]] = []

    def record(
        self, actor_nip: str | None, skp: SkpView, rhk_id: str, indicator_id: str, what: Realisation
    ) -> None:
        if self.exists:
            raise WrongState(f"entry {self.identity} is already recorded")
        if actor_nip != skp.nip:
            raise NotAllowed(f"only pegawai {skp.nip} records entries on their SKP")
        if not skp.approved:
            raise WrongState(
                f"SKP {skp.skp_id} is not approved as far as the journal has seen; entries wait"
                " for its approval (if it was approved a moment ago, retry)"
            )
        indicator = skp.indicators.get(indicator_id)
        if indicator is None or indicator.rhk_id != rhk_id:
            raise RuleViolation(
                "indicator_id",
                f"indicator {indicator_id} of RHK {rhk_id} is not in SKP {skp.skp_id}",
            )
        _check(what, skp, quantitative=indicator.quantitative)
        self._record(
            EntryRecorded(
                entry_id=self.identity, nip=skp.nip, skp_id=skp.skp_id, rhk_id=rhk_id,
                indicator_id=indicator_id, date=what.date, description=what.description.strip(),
                realised_value=what.realised_value, realised_text=what.realised_text,
                evidence=list(what.evidence),
            )
        )  # fmt: skip

    def correct(self, actor_nip: str | None, skp: SkpView, what: Realisation) -> None:
        self._check_recorded()
        if actor_nip != self.nip:
            raise NotAllowed(f"only pegawai {self.nip} corrects their entries")
        _check(what, skp, quantitative=skp.indicators[self.indicator_id].quantitative)
        self._record(
            EntryCorrected(
                entry_id=self.identity, date=what.date, description=what.description.strip(),
                realised_value=what.realised_value, realised_text=what.realised_text,
                evidence=list(what.evidence),
            )
        )  # fmt: skip

    def give_feedback(self, actor_nip: str | None, raters: DatedHistory, text: str) -> None:
        """Only the pejabat penilai of the pegawai on the entry's date answers it."""
        self._check_recorded()
        assert self.current is not None
        rater = raters.on(self.current.date)
        if actor_nip is None or actor_nip != rater:
            raise NotAllowed(
                f"only the pejabat penilai of {self.nip} on {self.current.date} answers"
            )
        if not text.strip():
            raise RuleViolation("text", "feedback needs a text")
        self._record(FeedbackGiven(entry_id=self.identity, given_by=actor_nip, text=text.strip()))

    def _check_recorded(self) -> None:
        if not self.exists:
            raise WrongState(f"there is no entry {self.identity}")

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case EntryRecorded():
                self.nip, self.skp_id, self.indicator_id = (
                    event.nip,
                    event.skp_id,
                    event.indicator_id,
                )
                self.current = _realisation(event)
            case EntryCorrected():
                self.current = _realisation(event)
            case FeedbackGiven():
                self.feedback.append((event.given_by, event.text))
            case _:
                super()._apply(event)


def _check(what: Realisation, skp: SkpView, *, quantitative: bool) -> None:
    if what.date.year != skp.year:
        raise RuleViolation("date", f"an entry of SKP {skp.skp_id} is dated in {skp.year}")
    if not what.description.strip():
        raise RuleViolation("description", "say what was done")
    if quantitative and what.realised_value is None:
        raise RuleViolation("realised_value", "a quantitative indicator needs the realised value")
    if quantitative and what.realised_value is not None and what.realised_value < 0:
        raise RuleViolation("realised_value", "a realised value is not negative")
    if not quantitative and not (what.realised_text or "").strip():
        raise RuleViolation("realised_text", "a qualitative indicator needs a narrative")


def _realisation(event: EntryRecorded | EntryCorrected) -> Realisation:
    return Realisation(
        event.date, event.description, event.realised_value, event.realised_text,
        tuple(event.evidence),
    )  # fmt: skip
