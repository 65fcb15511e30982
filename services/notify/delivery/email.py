"""Email deliveries over SMTP: the delivery's subject and text to the address of the
pegawai's contact, unless they opted out or gave none.

`Message-ID: <delivery id@kinerja>` and `X-Kinerja-Delivery` are the same on every resend, so
a second copy after a crash is recognisable (and threads with the first).
"""

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from enum import StrEnum
from typing import Self

import aiosmtplib
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notify.delivery.ledger import Delivery
from services.notify.delivery.sending import DeliveryFailed, DeliverySkipped, SendResult
from services.notify.delivery.signing import DELIVERY_HEADER
from services.notify.domain.contact import Contact
from shared.contracts.catalog import full_catalog
from shared.store.event_store import Clock, EventStore, utc_now
from shared.store.repository import Repository


class SmtpTls(StrEnum):
    NONE = "none"  # plain text, never upgraded: a relay on the same host or a test server
    STARTTLS = "starttls"  # plain, then upgraded by STARTTLS, which the server must offer
    TLS = "tls"  # TLS from the first byte (often port 465)


class NotifySmtpSettings(BaseSettings):
    """The SMTP server email goes through, from `KINERJA_SMTP_*` variables. Without a host,
    email is off: email deliveries are skipped (the inbox still has every notification)."""

    model_config = SettingsConfigDict(env_prefix="KINERJA_SMTP_", extra="ignore")

    host: str | None = Field(default=None, description="the SMTP server; unset: no email")
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: SmtpTls = Field(default=SmtpTls.STARTTLS, description="none, starttls or tls")
    from_address: str = Field(default="kinerja@localhost", description="the sender address")
    from_name: str = Field(default="Kinerja", description="the sender's display name")
    timeout_seconds: float = Field(default=30, gt=0)
    validate_certs: bool = Field(default=True, description="check the server's certificate")
    ca_file: str | None = Field(default=None, description="CA bundle (PEM) for a private CA")

    @field_validator("from_address")
    @classmethod
    def _one_address(cls, address: str) -> str:
        if address.count("@") != 1 or any(c.isspace() or c in "<>," for c in address):
            raise ValueError("the sender is one bare address, name@domain")
        return address

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("KINERJA_SMTP_USERNAME and KINERJA_SMTP_PASSWORD go together")
        return self


def compose(
    delivery: Delivery, to: str, settings: NotifySmtpSettings, now: datetime
) -> EmailMessage:
    """The message of an email delivery, whose body is `{"subject": ..., "text": ...}`."""
    subject, text = delivery.body.get("subject"), delivery.body.get("text")
    if not isinstance(subject, str) or not isinstance(text, str):
        raise DeliveryFailed("an email delivery's body needs a subject and a text")
    message = EmailMessage()
    message["From"] = formataddr((settings.from_name, settings.from_address))
    message["To"] = to
    message["Subject"] = " ".join(subject.split())  # one line: a header never breaks
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{delivery.delivery_id}@kinerja>"
    message[DELIVERY_HEADER] = str(delivery.delivery_id)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(text)
    return message


class EmailSender:
    channel = "email"

    def __init__(
        self, store: EventStore, settings: NotifySmtpSettings, *, clock: Clock = utc_now
    ) -> None:
        self.repository = Repository(store, full_catalog())
        self.settings = settings
        self.clock = clock

    async def send(self, delivery: Delivery) -> SendResult:
        if self.settings.host is None:
            raise DeliverySkipped("email is off: KINERJA_SMTP_HOST is not set")
        contact = await self.repository.load(Contact, delivery.target)
        if contact.email_opt_out:
            raise DeliverySkipped(f"{delivery.target} opted out of email")
        if contact.email is None:
            raise DeliverySkipped(f"{delivery.target} has no email address")
        message = compose(delivery, contact.email, self.settings, self.clock())
        try:
            _, response = await self._send(message)
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryFailed(error.message, error.code) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        return SendResult(detail=response)

    async def _send(self, message: EmailMessage) -> tuple[object, str]:
        settings = self.settings
        return await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            use_tls=settings.tls is SmtpTls.TLS,
            start_tls=settings.tls is SmtpTls.STARTTLS,
            timeout=settings.timeout_seconds,
            validate_certs=settings.validate_certs,
            cert_bundle=settings.ca_file,
        )

    async def gave_up(self, delivery: Delivery, failing_since: datetime, last_error: str) -> None:
        """Nothing more to do: the message stays in the pegawai's inbox."""
