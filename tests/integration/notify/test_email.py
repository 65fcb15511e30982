"""Email deliveries through a real SMTP server on loopback (aiosmtpd): to the contact's
address, skipped when they opted out or gave none, resent under the same Message-ID."""

from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import pytest

from services.notify.delivery.email import EmailSender, NotifySmtpSettings, SmtpTls
from services.notify.domain.contact import Contact
from shared.contracts.catalog import full_catalog
from shared.events.envelope import Envelope
from shared.store.event_store import EventStore
from shared.store.repository import Repository
from tests.integration.notify.conftest import (
    LEASE,
    Clock,
    CrashAfterSending,
    attempts_of,
    context,
    crash_after_sending,
    decide_email,
    delivery_row,
    worker,
)
from tests.support.receivers import Mailbox, free_port, smtp_server

NIP = "199001012015031001"
NewEvent = Callable[[], Awaitable[Envelope]]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, NotifySmtpSettings]]:
    with smtp_server() as (mailbox, port):
        yield mailbox, settings(port)


def settings(port: int) -> NotifySmtpSettings:
    return NotifySmtpSettings(host="127.0.0.1", port=port, tls=SmtpTls.NONE,
                              from_address="kinerja@bkn.go.id", timeout_seconds=5)  # fmt: skip


async def set_contact(store: EventStore, email: str | None, opt_out: bool = False) -> None:
    repository = Repository(store, full_catalog())
    contact = await repository.load(Contact, NIP)
    contact.set(email, email_opt_out=opt_out)
    await repository.save(contact, subject=NIP, context=context())


async def test_an_email_goes_to_the_contacts_address_with_the_delivery_id(
    notify_store: EventStore,
    smtp: tuple[Mailbox, NotifySmtpSettings],
    clock: Clock,
    new_event: NewEvent,
) -> None:
    mailbox, smtp_settings = smtp
    await set_contact(notify_store, "Budi.Santoso@BKN.go.id")
    delivery = await decide_email(notify_store, NIP, await new_event())

    assert await worker(notify_store, clock, EmailSender(notify_store, smtp_settings)).run_once()

    [mail] = mailbox.mails
    assert (mail.sender, mail.recipients) == ("kinerja@bkn.go.id", ["Budi.Santoso@bkn.go.id"])
    assert mail.message["Message-ID"] == f"<{delivery}@kinerja>"
    assert mail.message["X-Kinerja-Delivery"] == str(delivery)
    assert mail.message["Subject"] == "SKP Anda disetujui"
    assert mail.message.get_content().strip() == "SKP 2026 Anda telah disetujui."
    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["attempts"]) == ("SENT", 1)


@pytest.mark.parametrize(
    ("email", "opt_out", "reason"),
    [
        ("budi@bkn.go.id", True, f"{NIP} opted out of email"),
        (None, False, f"{NIP} has no email address"),
    ],
)
async def test_no_email_to_one_who_opted_out_or_gave_no_address(
    notify_store: EventStore,
    smtp: tuple[Mailbox, NotifySmtpSettings],
    clock: Clock,
    new_event: NewEvent,
    email: str | None,
    opt_out: bool,
    reason: str,
) -> None:
    mailbox, smtp_settings = smtp
    await set_contact(notify_store, email, opt_out)
    delivery = await decide_email(notify_store, NIP, await new_event())

    await worker(notify_store, clock, EmailSender(notify_store, smtp_settings)).run_once()

    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["last_error"], row["attempts"]) == ("SKIPPED", reason, 0)
    assert mailbox.mails == []
    assert await attempts_of(notify_store, delivery) == []


async def test_no_email_to_one_without_a_contact_or_when_email_is_off(
    notify_store: EventStore, clock: Clock, new_event: NewEvent
) -> None:
    nobody = await decide_email(notify_store, NIP, await new_event())
    await worker(notify_store, clock, EmailSender(notify_store, settings(free_port()))).run_once()
    await set_contact(notify_store, "budi@bkn.go.id")
    off = await decide_email(notify_store, NIP, await new_event())
    await worker(notify_store, clock, EmailSender(notify_store, NotifySmtpSettings())).run_once()

    assert (await delivery_row(notify_store, nobody))["last_error"] == f"{NIP} has no email address"
    off_row = await delivery_row(notify_store, off)
    assert (off_row["state"], off_row["last_error"]) == (
        "SKIPPED", "email is off: KINERJA_SMTP_HOST is not set",
    )  # fmt: skip


async def test_an_unreachable_smtp_server_is_a_failed_attempt_retried_later(
    notify_store: EventStore, clock: Clock, new_event: NewEvent
) -> None:
    await set_contact(notify_store, "budi@bkn.go.id")
    delivery = await decide_email(notify_store, NIP, await new_event())

    await worker(notify_store, clock, EmailSender(notify_store, settings(free_port()))).run_once()

    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["attempts"]) == ("PENDING", 1)
    assert row["first_failed_at"] is not None
    assert row["next_attempt_at"] > clock()


async def test_an_email_resent_after_a_crash_keeps_its_message_id(
    notify_store: EventStore,
    smtp: tuple[Mailbox, NotifySmtpSettings],
    clock: Clock,
    new_event: NewEvent,
) -> None:
    mailbox, smtp_settings = smtp
    await set_contact(notify_store, "budi@bkn.go.id")
    delivery = await decide_email(notify_store, NIP, await new_event())
    sender = EmailSender(notify_store, smtp_settings)
    crashing = CrashAfterSending(sender)

    await crash_after_sending(worker(notify_store, clock, crashing), crashing)
    clock.advance(LEASE + timedelta(seconds=1))
    assert await worker(notify_store, clock, sender).run_once() == 1

    assert [m.message["Message-ID"] for m in mailbox.mails] == [f"<{delivery}@kinerja>"] * 2
    assert (await delivery_row(notify_store, delivery))["state"] == "SENT"
