"""Envelopes as CloudEvents 1.0 in the Kafka protocol binding, binary mode: `ce_*` headers and
a JSON body. The `cloudevents` SDK does the mapping; this module names our extensions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.events.envelope import ENVELOPE, Envelope, iso_utc

JSON = JSONFormat()
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
    attributes: dict[str, Any] = {
        "id": str(envelope.event_id),
        "source": envelope.source,
        "type": versioned_type(envelope.event_type, envelope.schema_version),
        "subject": envelope.subject,
        "time": envelope.occurred_at,
        "datacontenttype": CONTENT_TYPE,
    }
    for extension, field in EXTENSIONS.items():
        value = getattr(envelope, field)
        if value is not None:
            attributes[extension] = iso_utc(value) if isinstance(value, datetime) else value
    message = to_binary(CloudEvent(attributes, envelope.payload), JSON, key_mapper=_no_key)
    # the time header in microseconds, as the hash saw it (the SDK writes isoformat())
    headers = {**message.headers, "ce_time": iso_utc(envelope.occurred_at).encode()}
    return Record(envelope.subject.encode(), message.value, list(headers.items()))


def from_record(value: bytes, headers: Sequence[tuple[str, bytes]]) -> Envelope:
    """The envelope a message carries; raises NotAKinerjaEvent for anything else."""
    try:
        event = from_binary(KafkaMessage(dict(headers), None, value), JSON)
        attributes = event.get_attributes()
        event_type, _, version = attributes["type"].rpartition(".v")
        fields = {field: attributes.get(name) for name, field in EXTENSIONS.items()}
        return ENVELOPE.validate_python(
            {
                **fields,
                "event_id": UUID(attributes["id"]),
                "event_type": event_type,
                "schema_version": int(version),
                "source": attributes["source"],
                "subject": attributes["subject"],
                "occurred_at": attributes["time"],
                "payload": event.get_data(),
            }
        )
    except (BaseCloudEventException, KeyError, ValueError, TypeError, UnicodeDecodeError) as error:
        raise NotAKinerjaEvent(str(error)) from error


def _no_key(_: Any) -> None:
    return None
