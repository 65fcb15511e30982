"""A webhook: an outside system's URL that receives, signed, the events it subscribed to.

Registered by an admin with a URL, the event types and a signing secret (of which only the
fingerprint enters an event); removed by an admin; disabled by the delivery worker when its
deliveries keep failing. A removed or disabled webhook receives nothing more: registering the
URL again makes a new webhook.
"""

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from shared.contracts.catalog import full_catalog
from shared.contracts.notify import WebhookDisabled, WebhookRegistered, WebhookRemoved
from shared.domain.aggregate import Aggregate
from shared.domain.errors import RuleViolation, WrongState
from shared.events.model import DomainEvent
from shared.events.registry import EventRegistry

EVERY_TYPE = "*"
MAX_URL_LENGTH = 2048
SECRET_LENGTHS = (16, 512)
_VERSIONED = re.compile(r"(?P<name>.+)\.v(?P<version>[1-9][0-9]*)")


def fingerprint(secret: str) -> str:
    """What events may say about a secret: its sha256, enough to tell two secrets apart."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host and no credentials in it; else RuleViolation."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or ord(c) < 32 for c in url):
        raise RuleViolation("url", f"a URL of at most {MAX_URL_LENGTH} characters, no spaces")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RuleViolation("url", "the URL must start with http:// or https://")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise RuleViolation("url", "the URL's port is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise RuleViolation("url", "the URL needs a host")
    # a password in a URL ends up in logs and in the event: the secret signs, nothing else
    if parts.username is not None or parts.password is not None:
        raise RuleViolation("url", "the URL must not carry a user name or password")
    if parts.fragment:
        raise RuleViolation("url", "a fragment (#...) is never sent; leave it out")
    return url


def check_event_types(event_types: Sequence[str], catalog: EventRegistry) -> list[str]:
    """Catalog type names (optionally with `.vN`, N up to the current version), or `*` alone;
    duplicates dropped, order kept."""
    if not event_types:
        raise RuleViolation("event_types", "name at least one event type, or * for every type")
    chosen = list(dict.fromkeys(event_types))
    if EVERY_TYPE in chosen and len(chosen) > 1:
        raise RuleViolation("event_types", "* already means every type; give it alone")
    for event_type in chosen:
        if event_type != EVERY_TYPE and not _in_catalog(event_type, catalog):
            raise RuleViolation(
                "event_types", f"{event_type!r} is not an event type of the catalog"
            )
    return chosen


def _in_catalog(event_type: str, catalog: EventRegistry) -> bool:
    if event_type in catalog:
        return True
    versioned = _VERSIONED.fullmatch(event_type)
    return (
        versioned is not None
        and versioned["name"] in catalog
        and int(versioned["version"]) <= catalog.model(versioned["name"]).schema_version
    )


def check_secret(secret: str) -> str:
    low, high = SECRET_LENGTHS
    if not low <= len(secret) <= high or any(c.isspace() for c in secret):
        raise RuleViolation("secret", f"a secret of {low} to {high} characters without spaces")
    return secret


class Webhook(Aggregate):
    stream_prefix = "webhook"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.url = ""
        self.event_types: list[str] = []
        self.secret_sha256 = ""
        self.registered_by = ""
        self.removed = False
        self.disabled: WebhookDisabled | None = None

    @property
    def subject(self) -> str:
        """The subject of its events (they concern no NIP)."""
        return f"webhook:{self.identity}"

    @property
    def active(self) -> bool:
        """Registered, and neither removed nor disabled: deliveries go out."""
        return self.exists and not self.removed and self.disabled is None

    @property
    def state(self) -> str:
        if self.removed:
            return "REMOVED"
        return "DISABLED" if self.disabled else "ACTIVE"

    def register(
        self,
        url: str,
        event_types: Sequence[str],
        secret: str,
        registered_by: str,
        catalog: EventRegistry | None = None,
    ) -> None:
        if self.exists:
            raise WrongState(f"webhook {self.identity} is already registered")
        self._record(
            WebhookRegistered(
                webhook_id=self.identity,
                url=check_url(url),
                event_types=check_event_types(event_types, catalog or full_catalog()),
                secret_sha256=fingerprint(check_secret(secret)),
                registered_by=registered_by,
            )
        )

    def remove(self, removed_by: str) -> None:
        self._check_registered()
        if self.removed:
            raise WrongState(f"webhook {self.identity} is already removed")
        self._record(WebhookRemoved(webhook_id=self.identity, removed_by=removed_by))

    def disable(self, failing_since: datetime, last_error: str) -> None:
        """Stop deliveries that kept failing; once, and only to a webhook still active."""
        if not self.active:
            raise WrongState(f"webhook {self.identity} is {self.state.lower()}, not active")
        self._record(
            WebhookDisabled(
                webhook_id=self.identity,
                url=self.url,
                failing_since=failing_since,
                last_error=last_error,
            )
        )

    def wants(self, event_type: str, schema_version: int) -> bool:
        """Whether it subscribed to events of this type (by name, `name.vN`, or `*`)."""
        names = {EVERY_TYPE, event_type, f"{event_type}.v{schema_version}"}
        return self.active and not names.isdisjoint(self.event_types)

    def _check_registered(self) -> None:
        if not self.exists:
            raise WrongState(f"webhook {self.identity} is not registered")

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case WebhookRegistered():
                self.url, self.event_types = event.url, list(event.event_types)
                self.secret_sha256, self.registered_by = event.secret_sha256, event.registered_by
            case WebhookRemoved():
                self.removed = True
            case WebhookDisabled():
                self.disabled = event
            case _:
                super()._apply(event)
