"""The Webhook aggregate: what a registration accepts, and how removal and disabling end it."""

from datetime import UTC, datetime

import pytest

from services.notify.domain.webhook import Webhook, fingerprint
from shared.contracts.notify import WebhookDisabled, WebhookRegistered, WebhookRemoved
from shared.domain.errors import RuleViolation, WrongState

URL = "https://siasn.example.go.id/hooks/kinerja"
PREDIKAT = "kinerja.appraisal.predikat-determined"
SECRET = "a-long-enough-secret"
SINCE = datetime(2026, 4, 1, tzinfo=UTC)


def registered(event_types: list[str] | None = None) -> Webhook:
    webhook = Webhook("wh-1")
    webhook.register(URL, event_types or [PREDIKAT], SECRET, "admin:biro-sdm")
    return webhook


def test_a_registration_records_the_url_types_and_only_the_secrets_fingerprint() -> None:
    webhook = registered([PREDIKAT, "kinerja.targets.skp-approved", PREDIKAT])

    [event] = webhook.pending
    assert event == WebhookRegistered(
        webhook_id="wh-1",
        url=URL,
        event_types=[PREDIKAT, "kinerja.targets.skp-approved"],
        secret_sha256=fingerprint(SECRET),
        registered_by="admin:biro-sdm",
    )
    assert SECRET not in event.model_dump_json()
    assert webhook.active


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.go.id/hook",
        "file:///etc/passwd",
        "example.go.id/hook",
        "https:///no-host",
        "https://user:password@example.go.id/hook",
        "https://token@example.go.id/hook",
        "https://example.go.id:99999/hook",
        "https://example.go.id/hook#part",
        "https://example.go.id/a hook",
        "",
    ],
)
def test_a_url_that_is_not_plain_http_or_https_to_a_host_is_refused(url: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        Webhook("wh-1").register(url, [PREDIKAT], SECRET, "admin:biro-sdm")

    assert refused.value.field == "url"


@pytest.mark.parametrize(
    "event_types",
    [[], ["kinerja.appraisal.no-such-thing"], ["*", PREDIKAT], [f"{PREDIKAT}.v2"], ["appraisal"]],
)
def test_event_types_must_be_catalog_names_or_every_type(event_types: list[str]) -> None:
    with pytest.raises(RuleViolation) as refused:
        Webhook("wh-1").register(URL, event_types, SECRET, "admin:biro-sdm")

    assert refused.value.field == "event_types"


def test_every_type_and_a_versioned_type_name_are_accepted() -> None:
    assert registered(["*"]).wants("kinerja.targets.unit-created", 1)
    versioned = registered([f"{PREDIKAT}.v1"])
    assert versioned.wants(PREDIKAT, 1)
    assert not versioned.wants("kinerja.targets.unit-created", 1)


@pytest.mark.parametrize("secret", ["short", "x" * 513, "a secret with spaces"])
def test_a_weak_or_odd_secret_is_refused(secret: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        Webhook("wh-1").register(URL, [PREDIKAT], secret, "admin:biro-sdm")

    assert refused.value.field == "secret"


def test_a_webhook_is_registered_once() -> None:
    webhook = registered()

    with pytest.raises(WrongState):
        webhook.register(URL, [PREDIKAT], SECRET, "admin:biro-sdm")


def test_a_removed_webhook_wants_nothing_and_is_removed_once() -> None:
    webhook = registered()

    webhook.remove("admin:biro-sdm")

    assert webhook.pending[-1] == WebhookRemoved(webhook_id="wh-1", removed_by="admin:biro-sdm")
    assert (webhook.state, webhook.active) == ("REMOVED", False)
    assert not webhook.wants(PREDIKAT, 1)
    with pytest.raises(WrongState):
        webhook.remove("admin:biro-sdm")


def test_an_unregistered_webhook_cannot_be_removed() -> None:
    with pytest.raises(WrongState):
        Webhook("wh-9").remove("admin:biro-sdm")


def test_a_webhook_is_disabled_once_and_never_after_removal() -> None:
    webhook = registered()

    webhook.disable(SINCE, "the receiver answered 503")

    assert webhook.pending[-1] == WebhookDisabled(
        webhook_id="wh-1", url=URL, failing_since=SINCE, last_error="the receiver answered 503"
    )
    assert webhook.state == "DISABLED"
    with pytest.raises(WrongState):
        webhook.disable(SINCE, "again")
    removed = registered()
    removed.remove("admin:biro-sdm")
    with pytest.raises(WrongState):
        removed.disable(SINCE, "too late")


def test_a_replay_of_its_events_gives_the_same_webhook() -> None:
    webhook = registered()
    webhook.disable(SINCE, "timeout")

    again = Webhook.replay("wh-1", webhook.pending)

    assert (again.url, again.event_types, again.state, again.version) == (
        URL, [PREDIKAT], "DISABLED", 2,
    )  # fmt: skip
    assert again.subject == "webhook:wh-1"
