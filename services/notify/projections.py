"""Notify's one projection, of every topic: the facts its rules need (who rates whom, SKPs,
entry days, ratings), the inbox, and the deliveries each event decides (an email per message
to a pegawai, a POST per matching webhook).

One projection, not one per topic: a rule that reads a fact (the pejabat penilai of an SKP's
owner) must see it in the order the owner's events were recorded, which only a consumer of
both in one partition order gives. Deliveries go to the ledger outside this schema, keyed by
event, channel and target: a redelivery or a replay decides nothing new, so sends nothing.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from services.notify.delivery.ledger import Channel, decide
from services.notify.domain.templates import render
from services.notify.webhook_registry import WebhookRegistry
from shared.contracts.appraisal import (
    AppealDecided,
    AppealFiled,
    DistributionJudged,
    RatingGiven,
)
from shared.contracts.catalog import full_catalog
from shared.contracts.journal import EntryCorrected, EntryRecorded, FeedbackGiven
from shared.contracts.notify import ReminderSent, WebhookDisabled
from shared.contracts.targets import (
    EmployeeRegistered,
    PerformanceYearOpened,
    SkpApproved,
    SkpDrafted,
    SkpReturned,
    SkpRevisionOpened,
    SkpSubmitted,
    SupervisorAssigned,
)
from shared.events.envelope import Envelope
from shared.events.kafka_binding import to_structured
from shared.events.model import DomainEvent
from shared.projections import roster_facts
from shared.projections.projection import Projection
from shared.store.db import Connection

CATALOG = full_catalog()
ADMINS = "admins"  # the recipient of what every admin of the agency must see
MESSAGE_IDS = uuid.UUID("6f1d7f0e-2c55-4c1b-8a3e-5d0f3c1b2a90")


@dataclass(frozen=True)
class Message:
    recipient: str  # a NIP, or ADMINS
    kind: str
    params: dict[str, Any]


class Inbox(Projection):
    name = "notify.inbox"
    tables = (
        roster_facts.TABLES
        + """
    CREATE TABLE employees (nip text PRIMARY KEY, name text NOT NULL, unit_code text NOT NULL);
    CREATE TABLE skps (
        skp_id text PRIMARY KEY, nip text NOT NULL, year integer NOT NULL, status text NOT NULL
    );
    CREATE TABLE entry_days (nip text NOT NULL, day date NOT NULL, PRIMARY KEY (nip, day));
    CREATE TABLE evaluations (
        evaluation_id text PRIMARY KEY, nip text NOT NULL, year integer NOT NULL,
        period text NOT NULL, rated_by text NOT NULL
    );
    CREATE TABLE messages (
        notification_id uuid PRIMARY KEY, recipient text NOT NULL, kind text NOT NULL,
        params jsonb NOT NULL, created_at timestamptz NOT NULL, event_id uuid NOT NULL
    );
    CREATE INDEX messages_of_recipient ON messages (recipient, created_at DESC);
    """
    )

    reads = ("targets", "journal", "appraisal", "notify")

    def __init__(self, namespace: str = "kinerja", ledger_schema: str = "notify") -> None:
        super().__init__(namespace)
        self.ledger_schema = ledger_schema

    async def apply_all(self, db: Connection, events: Sequence[Envelope]) -> None:
        webhooks = await WebhookRegistry.load(db, self.ledger_schema)
        for event in events:
            await self._apply(db, event, webhooks)

    async def apply(self, db: Connection, event: Envelope) -> None:
        await self._apply(db, event, await WebhookRegistry.load(db, self.ledger_schema))

    async def _apply(self, db: Connection, event: Envelope, webhooks: WebhookRegistry) -> None:
        decoded = event.decode(CATALOG) if event.event_type in CATALOG else None
        messages = await _facts_and_messages(db, decoded, event) if decoded else []
        decisions: list[tuple[Channel, str, uuid.UUID, str, dict[str, Any]]] = []
        for message in messages:
            notification_id = uuid.uuid5(MESSAGE_IDS, f"{event.event_id}/{message.recipient}")
            await db.execute(
                "INSERT INTO messages VALUES ($1, $2, $3, $4::jsonb, $5, $6)"
                " ON CONFLICT DO NOTHING",
                notification_id, message.recipient, message.kind,
                orjson.dumps(message.params).decode(), event.recorded_at, event.event_id,
            )  # fmt: skip
            if message.recipient != ADMINS:
                subject, text = render(message.kind, message.params)
                decisions.append(("email", message.recipient, event.event_id, message.kind,
                                  {"subject": subject, "text": text}))  # fmt: skip
        decisions += [
            ("webhook", webhook_id, event.event_id, event.event_type, to_structured(event))
            for webhook_id in webhooks.matching(event)
        ]
        await decide(db, self.ledger_schema, decisions)


async def _facts_and_messages(
    db: Connection, event: DomainEvent, envelope: Envelope
) -> list[Message]:
    match event:
        case EmployeeRegistered() | SupervisorAssigned() | PerformanceYearOpened():
            await _roster(db, event)
        case SkpDrafted() | SkpSubmitted() | SkpApproved() | SkpReturned() | SkpRevisionOpened():
            return await _skp(db, event, envelope)
        case EntryRecorded() | EntryCorrected():
            nip = envelope.subject
            await db.execute("INSERT INTO entry_days VALUES ($1, $2) ON CONFLICT DO NOTHING",
                             nip, event.date)  # fmt: skip
        case FeedbackGiven():
            params: dict[str, Any] = {
                "by": event.given_by,
                "text": event.text,
                "entry_id": event.entry_id,
            }
            return [Message(envelope.subject, "FEEDBACK_GIVEN", params)]
        case RatingGiven() | AppealFiled() | AppealDecided():
            return await _appraisal(db, event)
        case DistributionJudged():
            return [_curve(event)]
        case ReminderSent():
            params = {"year": event.year, "period": event.period, "due": event.due.isoformat(),
                      **event.details}  # fmt: skip
            return [Message(event.nip, f"REMINDER_{event.rule.value}", params)]
        case WebhookDisabled():
            params = {"url": event.url, "since": event.failing_since.isoformat(),
                      "error": event.last_error, "webhook_id": event.webhook_id}  # fmt: skip
            return [Message(ADMINS, "WEBHOOK_DISABLED", params)]
    return []


def _curve(event: DistributionJudged) -> Message:
    """To the admins (the unit is in the message): a breach, or the curve holding again."""
    params = {
        "unit_code": event.unit_code, "year": event.year, "period": event.period,
        "organisation_predikat": event.organisation_predikat.value, "rated": event.rated,
        "breaches": "; ".join(f"{b.rule} ({b.actual})" for b in event.breaches),
    }  # fmt: skip
    return Message(ADMINS, "CURVE_HOLDS" if event.holds else "CURVE_BREACHED", params)


async def _roster(db: Connection, event: DomainEvent) -> None:
    if isinstance(event, EmployeeRegistered):
        await db.execute("INSERT INTO employees VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                         event.nip, event.name, event.unit_code)  # fmt: skip
    else:
        await roster_facts.apply_roster_fact(db, event)


async def _skp(db: Connection, event: DomainEvent, envelope: Envelope) -> list[Message]:
    if isinstance(event, SkpDrafted):
        await db.execute("INSERT INTO skps VALUES ($1, $2, $3, 'DRAFT') ON CONFLICT DO NOTHING",
                         event.skp_id, event.nip, event.year)  # fmt: skip
        return []
    assert isinstance(event, SkpSubmitted | SkpApproved | SkpReturned | SkpRevisionOpened)
    status = {SkpSubmitted: "SUBMITTED", SkpApproved: "APPROVED"}.get(type(event), "DRAFT")
    row = await db.fetchrow(
        "UPDATE skps SET status = $2 WHERE skp_id = $1 RETURNING nip, year", event.skp_id, status
    )
    owner, year = (row["nip"], row["year"]) if row else (envelope.subject, None)
    params: dict[str, Any] = {"skp_id": event.skp_id, "nip": owner, "year": year}
    match event:
        case SkpSubmitted():
            rater = await db.fetchval(
                "SELECT supervisor_nip FROM assignments WHERE nip = $1 AND effective_from <= $2"
                " ORDER BY effective_from DESC LIMIT 1",
                owner, envelope.occurred_at.date(),
            )  # fmt: skip
            return [Message(rater, "SKP_SUBMITTED", params)] if rater else []
        case SkpApproved():
            return [Message(owner, "SKP_APPROVED", {**params, "by": event.approved_by})]
        case SkpReturned():
            by = {"by": event.returned_by, "reason": event.reason}
            return [Message(owner, "SKP_RETURNED", {**params, **by})]
    return []


async def _appraisal(db: Connection, event: DomainEvent) -> list[Message]:
    match event:
        case RatingGiven():
            await db.execute(
                "INSERT INTO evaluations VALUES ($1, $2, $3, $4, $5) ON CONFLICT (evaluation_id)"
                " DO UPDATE SET rated_by = $5",
                event.evaluation_id, event.nip, event.year, event.period, event.rated_by,
            )  # fmt: skip
            kind = "RATING_AMENDED" if event.amends else "RATING_GIVEN"
            params = {"year": event.year, "period": event.period, "predikat": event.predikat.value,
                      "appeal_until": event.appeal_until.isoformat()}  # fmt: skip
            return [Message(event.nip, kind, params)]
        case AppealFiled():
            params = {"nip": event.nip, "year": event.year, "period": event.period,
                      "reason": event.reason}  # fmt: skip
            return [Message(event.decider_nip, "APPEAL_FILED", params)]
        case AppealDecided():
            rater = await db.fetchval(
                "SELECT rated_by FROM evaluations WHERE evaluation_id = $1", event.evaluation_id
            )
            params = {"nip": event.nip, "year": event.year, "period": event.period,
                      "outcome": event.outcome.value, "predikat": event.predikat.value}  # fmt: skip
            recipients = [event.nip, *([rater] if rater else [])]
            return [Message(nip, "APPEAL_DECIDED", params) for nip in recipients]
    return []
