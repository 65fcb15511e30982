"""Envelopes as CloudEvents 1.0 in the Kafka protocol binding, binary mode: `ce_*` headers and
a JSON body, our envelope's fields as extensions. The `cloudevents` SDK is the tests' judge
of conformance (tests/unit/test_kafka_binding.py); the hot paths here do without it."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from shared.events.envelope import Envelope, iso_utc
from shared.events.ids import parse_event_id

CONTENT_TYPE = "application/json"
# CloudEvents extension names: lower-case letters and digits only
EXTENSIONS = {
    "streamid": "stream_id",
    "streamversion": "stream_version",
    "recordedat": "recorded_at",
    "actor": "actor",
    "correlationid": "correlation_id",
    "causationid": "causation_id",
    "previoushash": "previous_hash",
    "hash": "hash",
}
Headers = list[tuple[str, bytes]]


class NotAKinerjaEvent(ValueError):
    """A Kafka message that is not a CloudEvent of ours (missing or malformed attributes)."""


@dataclass(frozen=True)
class Record:
    """What goes onto a topic: key (the NIP), body and headers."""

    key: bytes
    value: bytes
    headers: Headers


def versioned_type(event_type: str, schema_version: int) -> str:
    return f"{event_type}.v{schema_version}"


def to_record(envelope: Envelope) -> Record:
    """The envelope as a CloudEvent in binary mode: `ce_*` headers and the JSON payload.

    Written directly rather than through the SDK's `to_binary`, for the relay's sake (it was
    three quarters of the relay's work per event); a test reads these records with the SDK,
    so they stay what the CloudEvents Kafka binding says.
    """
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(envelope.event_id).encode()),
        ("ce_source", envelope.source.encode()),
        ("ce_type", versioned_type(envelope.event_type, envelope.schema_version).encode()),
        ("ce_subject", envelope.subject.encode()),
        ("ce_time", iso_utc(envelope.occurred_at).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    for extension, field in EXTENSIONS.items():
        value = getattr(envelope, field)
        if value is not None:
            text = iso_utc(value) if isinstance(value, datetime) else str(value)
            headers.append((f"ce_{extension}", text.encode()))
    return Record(envelope.subject.encode(), orjson.dumps(envelope.payload), headers)


def to_structured(envelope: Envelope) -> dict[str, Any]:
    """The envelope as a CloudEvent in structured JSON mode (for webhooks): the same
    attributes and extensions as on a topic, with the payload as `data`."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(envelope.event_id),
        "source": envelope.source,
        "type": versioned_type(envelope.event_type, envelope.schema_version),
        "subject": envelope.subject,
        "time": iso_utc(envelope.occurred_at),
        "datacontenttype": CONTENT_TYPE,
    }
    for extension, field in EXTENSIONS.items():
        value = getattr(envelope, field)
        if value is not None:
            event[extension] = iso_utc(value) if isinstance(value, datetime) else value
    return {**event, "data": envelope.payload}


def from_record(value: bytes, headers: Sequence[tuple[str, bytes]]) -> Envelope:
    """The envelope a message carries; raises NotAKinerjaEvent for anything else.

    Hand-written rather than the SDK's `from_binary`: replay decodes every event of a
    topic, and the SDK's generic parsing and validation cost five times the rest of the
    work. It reads exactly the attributes `to_record` writes, and checks what the envelope's
    types promise; headers are read in place, with no helper call per attribute.
    """
    try:
        found = dict(headers)
        if found.get("ce_specversion") != b"1.0":
            raise NotAKinerjaEvent("not a CloudEvent 1.0 (no ce_specversion 1.0 header)")
        ce_type = found["ce_type"].decode()
        event_type, _, version = ce_type.rpartition(".v")
        payload = orjson.loads(value)
        causation = found.get("ce_causationid")
        envelope = Envelope(
            parse_event_id(found["ce_id"].decode()),
            event_type,
            int(version),
            found["ce_source"].decode(),
            found["ce_streamid"].decode(),
            int(found["ce_streamversion"]),
            found["ce_subject"].decode(),
            _instant(found["ce_time"]),
            _instant(found["ce_recordedat"]),
            found["ce_actor"].decode(),
            found["ce_correlationid"].decode(),
            None if causation is None else causation.decode(),
            _sha256(found["ce_previoushash"]),
            _sha256(found["ce_hash"]),
            payload,
        )
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, orjson.JSONDecodeError) as error:
        raise NotAKinerjaEvent(f"{type(error).__name__}: {error}") from error
    if not event_type or envelope.schema_version < 1 or envelope.stream_version < 1:
        raise NotAKinerjaEvent(f"bad type or versions: {ce_type}")
    if not isinstance(payload, dict):
        raise NotAKinerjaEvent("the body is not a JSON object")
    return envelope


@lru_cache(maxsize=1024)  # the events of one command or import share their instants
def _instant(raw: bytes) -> datetime:
    moment = datetime.fromisoformat(raw.decode())
    if moment.tzinfo is None:
        raise ValueError(f"{raw!r} has no time zone")
    return moment


_HEX_DIGITS = b"0123456789abcdef"


def _sha256(raw: bytes) -> str:
    # all lower-case hex digits when stripping them leaves nothing: no regex per header
    if len(raw) != 64 or raw.strip(_HEX_DIGITS):
        raise ValueError(f"{raw!r} is not a sha256 in hex")
    return raw.decode()
