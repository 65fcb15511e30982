"""One pegawai as the record stood at a moment: their SKPs, entries, action plans, ratings and
predicates, folded from the published events of every service. Pure: the caller reads the
events (up to the moment) and hands them over in the order each stream recorded them."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.contracts.appraisal import (
    AppealDecided,
    AppealFiled,
    AppealOutcome,
    PredikatDetermined,
    RatingGiven,
)
from shared.contracts.journal import ActionPlanSet, EntryCorrected, EntryRecorded, FeedbackGiven
from shared.contracts.notify import ReminderSent
from shared.contracts.targets import (
    BehaviourExpectationsSet,
    EmployeeRegistered,
    RhkAdded,
    RhkChanged,
    RhkRemoved,
    SkpApproved,
    SkpDrafted,
    SkpReturned,
    SkpRevisionOpened,
    SkpSubmitted,
    SupervisorAssigned,
)
from shared.events.envelope import Envelope, iso_utc
from shared.events.model import DomainEvent

Json = dict[str, Any]
ENTRY_CONTENT = ("date", "description", "realised_value", "realised_text", "evidence")
RATINGS = ("predikat", "hasil_kerja", "perilaku_kerja")


def _when(envelope: Envelope) -> Json:
    """Who recorded it and when: what an auditor reads beside every change."""
    return {"recorded_at": iso_utc(envelope.recorded_at), "actor": envelope.actor}


def _step(envelope: Envelope) -> Json:
    return {"event": envelope.event_type.rsplit(".", 1)[-1], **_when(envelope)}


@dataclass
class PegawaiHistory:
    """Feed it `apply` with each event about the pegawai; read `as_json()`."""

    nip: str
    employee: Json | None = None
    skps: dict[str, Json] = field(default_factory=dict)
    entries: dict[str, Json] = field(default_factory=dict)
    action_plans: dict[str, Json] = field(default_factory=dict)
    evaluations: dict[str, Json] = field(default_factory=dict)
    reminders: list[Json] = field(default_factory=list)
    not_folded: Counter[str] = field(default_factory=Counter)
    unreadable: list[Json] = field(default_factory=list)
    events: int = 0

    def apply(self, envelope: Envelope, event: DomainEvent) -> None:
        self.events += 1
        body = event.model_dump(mode="json")
        match event:
            case EmployeeRegistered() | SupervisorAssigned():
                self._roster(envelope, event, body)
            case SkpDrafted() | RhkAdded() | RhkChanged() | RhkRemoved():
                self._skp_content(envelope, event, body)
            case (
                BehaviourExpectationsSet()
                | SkpSubmitted()
                | SkpApproved()
                | SkpReturned()
                | SkpRevisionOpened()
            ):
                self._skp_status(envelope, event, body)
            case EntryRecorded() | EntryCorrected() | FeedbackGiven():
                self._entry(envelope, event, body)
            case ActionPlanSet():
                self.action_plans[event.plan_id] = {**body, **_when(envelope)}
            case RatingGiven() | AppealFiled() | AppealDecided() | PredikatDetermined():
                self._evaluation(envelope, event, body)
            case ReminderSent():
                self.reminders.append({**body, **_when(envelope)})
            case _:
                self.not_folded[envelope.event_type] += 1

    def unread(self, envelope: Envelope, reason: str) -> None:
        """An event this code cannot read (a newer type or version): named, not folded."""
        self.events += 1
        self.unreadable.append(
            {"stream_id": envelope.stream_id, "version": envelope.stream_version, "why": reason}
        )

    def _roster(self, envelope: Envelope, event: DomainEvent, body: Json) -> None:
        if isinstance(event, EmployeeRegistered):
            self.employee = {**body, "supervisors": [], **_when(envelope)}
        elif self.employee is not None:
            self.employee["supervisors"].append(
                {k: body[k] for k in ("supervisor_nip", "effective_from")} | _when(envelope)
            )

    def _skp_content(self, envelope: Envelope, event: DomainEvent, body: Json) -> None:
        if isinstance(event, SkpDrafted):
            self.skps[event.skp_id] = {
                "skp_id": event.skp_id, "year": event.year, "approach": body["approach"],
                "status": "DRAFT", "version": 1, "rhk": {}, "behaviour_expectations": {},
                "history": [],
            }  # fmt: skip
        skp = self.skps.get(body["skp_id"])
        if skp is None:
            return  # a stream that began before the moment asked about cannot lack its draft
        if isinstance(event, RhkRemoved):
            skp["rhk"].pop(event.rhk_id, None)
        elif isinstance(event, RhkAdded | RhkChanged):
            skp["rhk"][event.rhk_id] = {k: v for k, v in body.items() if k != "skp_id"}
        skp["history"].append(_step(envelope))

    def _skp_status(self, envelope: Envelope, event: DomainEvent, body: Json) -> None:
        skp = self.skps.get(body["skp_id"])
        if skp is None:
            return
        step = _step(envelope)
        match event:
            case BehaviourExpectationsSet():
                skp["behaviour_expectations"] = body["expectations"]
                step["set_by"] = event.set_by
            case SkpSubmitted():
                skp["status"] = "SUBMITTED"
            case SkpApproved():
                skp["status"], step["approved_by"] = "APPROVED", event.approved_by
            case SkpReturned():
                skp["status"], step["reason"] = "DRAFT", event.reason
            case SkpRevisionOpened():
                skp["status"], skp["version"] = "DRAFT", event.version
        skp["history"].append(step)

    def _entry(self, envelope: Envelope, event: DomainEvent, body: Json) -> None:
        if isinstance(event, EntryRecorded):
            content = {k: body[k] for k in ENTRY_CONTENT} | _when(envelope)
            self.entries[event.entry_id] = {
                **{k: body[k] for k in ("entry_id", "skp_id", "rhk_id", "indicator_id")},
                "recorded": content, "current": content, "corrections": [], "feedback": [],
            }  # fmt: skip
            return
        entry = self.entries.get(body["entry_id"])
        if entry is None:
            return
        if isinstance(event, EntryCorrected):
            content = {k: body[k] for k in ENTRY_CONTENT} | _when(envelope)
            entry["current"] = content
            entry["corrections"].append(content)
        else:
            entry["feedback"].append(
                {"given_by": body["given_by"], "text": body["text"]} | _when(envelope)
            )

    def _evaluation(self, envelope: Envelope, event: DomainEvent, body: Json) -> None:
        key = body["evaluation_id"]
        evaluation = self.evaluations.setdefault(
            key,
            {
                "evaluation_id": key, "year": body["year"], "period": body["period"],
                "predikat": None, "hasil_kerja": None, "perilaku_kerja": None, "final": False,
                "ratings": [], "appeal": None, "determined": [],
            },
        )  # fmt: skip
        match event:
            case RatingGiven():
                rating = {k: v for k, v in body.items() if k not in ("evaluation_id", "nip")}
                evaluation["ratings"].append(rating | _when(envelope))
                evaluation.update({k: body[k] for k in RATINGS})
            case AppealFiled():
                evaluation["appeal"] = {
                    k: body[k] for k in ("reason", "filed_at", "decider_nip")
                } | {"outcome": None}
            case AppealDecided():
                decided = {k: body[k] for k in ("outcome", "decided_by", "decided_at", "note")}
                evaluation["appeal"] = (evaluation["appeal"] or {}) | decided | _when(envelope)
                evaluation["final"] = True
                if event.outcome is AppealOutcome.CHANGED:
                    evaluation.update({k: body[k] for k in RATINGS})
            case PredikatDetermined():
                kept = ("predikat", "cause", "rules_version", "credit_point_percentage",
                        "tukin_factor", "tukin_rule_version")  # fmt: skip
                evaluation["determined"].append({k: body[k] for k in kept} | _when(envelope))

    def as_json(self) -> Json:
        return {
            "nip": self.nip,
            "employee": self.employee,
            "skps": sorted(
                ({**s, "rhk": list(s["rhk"].values())} for s in self.skps.values()),
                key=lambda s: (s["year"], s["skp_id"]),
            ),
            "entries": sorted(
                self.entries.values(), key=lambda e: (e["current"]["date"], e["entry_id"])
            ),
            "action_plans": sorted(
                self.action_plans.values(), key=lambda p: (p["period"], p["plan_id"])
            ),
            "evaluations": sorted(self.evaluations.values(), key=_period_order),
            "reminders": self.reminders,
            "other_events": dict(sorted(self.not_folded.items())),
            "unreadable": self.unreadable,
            "events": self.events,
        }


def _period_order(evaluation: Json) -> tuple[int, bool, str]:
    # the year's periods in their order, the annual result after them
    return evaluation["year"], evaluation["period"] == "ANNUAL", evaluation["period"]
