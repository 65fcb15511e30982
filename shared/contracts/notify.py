"""Events of the notify service, on `kinerja.notify.v1`: reminders sent, webhooks registered,
removed or disabled, contacts and inbox reads. Subject: the NIP; for a webhook
`webhook:<id>`. A webhook's secret never enters an event: only its fingerprint does."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from shared.contracts.catalog import catalog
from shared.domain.nip import Nip
from shared.events.model import DomainEvent


class ReminderRule(StrEnum):
    NO_ENTRY_BEFORE_PERIOD_END = "NO_ENTRY_BEFORE_PERIOD_END"
    UNRATED_SUBORDINATES = "UNRATED_SUBORDINATES"
    NO_APPROVED_SKP = "NO_APPROVED_SKP"


@catalog.register
class ReminderSent(DomainEvent):
    """A reminder went to a person, once per rule, person and period however often the job
    runs (its stream can hold only this one event)."""

    type_name = "kinerja.notify.reminder-sent"
    rule: ReminderRule
    nip: Nip
    year: int
    period: str
    due: date
    details: dict[str, str] = Field(default_factory=dict)


@catalog.register
class WebhookRegistered(DomainEvent):
    type_name = "kinerja.notify.webhook-registered"
    webhook_id: str
    url: str
    event_types: list[str]
    secret_sha256: str
    registered_by: str


@catalog.register
class WebhookRemoved(DomainEvent):
    type_name = "kinerja.notify.webhook-removed"
    webhook_id: str
    removed_by: str


@catalog.register
class WebhookDisabled(DomainEvent):
    """Deliveries kept failing for too long; nothing more is sent until it is registered
    again."""

    type_name = "kinerja.notify.webhook-disabled"
    webhook_id: str
    url: str
    failing_since: datetime
    last_error: str


@catalog.register
class ContactSet(DomainEvent):
    """Where a pegawai's email goes, and whether they want it at all."""

    type_name = "kinerja.notify.contact-set"
    nip: Nip
    email: str | None
    email_opt_out: bool


@catalog.register
class NotificationRead(DomainEvent):
    type_name = "kinerja.notify.notification-read"
    recipient: str
    notification_id: str
