"""The pure parts of sending: the retry delays and the email a delivery becomes."""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.delivery.email import NotifySmtpSettings, compose
from services.notify.delivery.ledger import Delivery
from services.notify.delivery.sending import DeliveryFailed
from services.notify.delivery.worker import backoff_delay

BASE, CAP = timedelta(seconds=10), timedelta(hours=1)
NOW = datetime(2026, 4, 1, 8, tzinfo=UTC)


def delivery(body: dict[str, object]) -> Delivery:
    return Delivery(uuid.uuid4(), "email", "199001012015031001", uuid.uuid4(), "SKP_APPROVED",
                    body, 0, NOW)  # fmt: skip


@pytest.mark.parametrize("seed", range(20))
def test_a_retry_waits_half_to_all_of_a_doubling_delay_never_past_the_cap(seed: int) -> None:
    rng = random.Random(seed)
    for attempts in range(1, 40):
        ceiling = min(CAP, BASE * 2 ** (attempts - 1))

        delay = backoff_delay(attempts, BASE, CAP, rng)

        assert ceiling / 2 <= delay <= ceiling


def test_an_email_carries_the_delivery_id_so_a_resend_is_recognisable() -> None:
    approved = delivery({"subject": "SKP disetujui\r\nBcc: x@y.id", "text": "SKP Anda disetujui."})
    settings = NotifySmtpSettings(host="127.0.0.1", from_address="kinerja@bkn.go.id")

    message = compose(approved, "budi@bkn.go.id", settings, NOW)

    assert message["Message-ID"] == f"<{approved.delivery_id}@kinerja>"
    assert message["X-Kinerja-Delivery"] == str(approved.delivery_id)
    assert message["Subject"] == "SKP disetujui Bcc: x@y.id"  # one line: nothing injected
    assert (message["To"], message["From"]) == ("budi@bkn.go.id", "Kinerja <kinerja@bkn.go.id>")
    assert message.get_content().strip() == "SKP Anda disetujui."


def test_an_email_delivery_without_subject_and_text_fails_loudly() -> None:
    with pytest.raises(DeliveryFailed):
        compose(delivery({"text": "no subject"}), "budi@bkn.go.id", NotifySmtpSettings(), NOW)


def test_smtp_settings_come_from_kinerja_smtp_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINERJA_SMTP_HOST", "smtp.bkn.go.id")
    monkeypatch.setenv("KINERJA_SMTP_PORT", "465")
    monkeypatch.setenv("KINERJA_SMTP_TLS", "tls")
    monkeypatch.setenv("KINERJA_SMTP_USERNAME", "kinerja")
    monkeypatch.setenv("KINERJA_SMTP_PASSWORD", "s3cret")

    settings = NotifySmtpSettings()

    assert (settings.host, settings.port, settings.tls.value) == ("smtp.bkn.go.id", 465, "tls")
    assert settings.password is not None
    assert settings.password.get_secret_value() == "s3cret"


def test_a_user_name_without_a_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINERJA_SMTP_USERNAME", "kinerja")

    with pytest.raises(ValueError, match="go together"):
        NotifySmtpSettings()
