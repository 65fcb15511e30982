"""The AsyncAPI 3.0 document of Kinerja's topics: one channel per service topic, every event
type in the catalog as a message on it, with its payload's JSON Schema, its CloudEvents
headers and its key.

python -m shared.contracts.asyncapi            # write shared/contracts/asyncapi/
python -m shared.contracts.asyncapi --check    # exit 1 when the file is stale

Written from the catalog rather than by FastStream's generator. FastStream 0.7's message
objects carry neither headers nor bindings, so it cannot say that an event travels as `ce_*`
headers keyed by its subject; it makes a channel per publisher, not per topic; and the relay
publishes with aiokafka, so its publishers would be declared only to be documented.
"""

import importlib
import re
from typing import Any

from shared.config import KinerjaSettings
from shared.contracts.catalog import full_catalog
from shared.contracts.generated import Documents, main
from shared.contracts.schemas import FOLDER as SCHEMAS
from shared.contracts.schemas import generate as generate_schemas
from shared.events.kafka_binding import CONTENT_TYPE, EXTENSIONS, versioned_type
from shared.events.model import DomainEvent
from shared.events.registry import EventRegistry
from shared.relay.topics import FOREVER, dead_letter_topic, service_topic

FOLDER = SCHEMAS.parent / "asyncapi"
FILE_NAME = "kinerja.asyncapi.json"
KAFKA_BINDING = "0.5.0"
HEADERS = "CloudEventHeaders"
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
INSTANT = {"type": "string", "format": "date-time"}

SUBJECT = (
    "What the event is about, also the Kafka key: the pegawai's NIP (18 digits); `unit:<code>`"
    " for a unit and its organisation predicate, `year:<year>` for a performance year,"
    " `webhook:<id>` for a webhook, `admins` for the admins' shared inbox."
)
KEY_SCHEMA = {"type": "string", "description": SUBJECT}
# the CloudEvents attributes `to_record` writes, then our envelope's fields as extensions
ATTRIBUTES: dict[str, dict[str, Any]] = {
    "ce_specversion": {"const": "1.0", "description": "CloudEvents 1.0"},
    "ce_id": {
        "format": "uuid",
        "description": "The event's id (UUIDv7); a redelivered duplicate carries the same id.",
    },
    "ce_source": {"description": "The service that recorded the event."},
    "ce_type": {"description": "`<type name>.v<schema version>`"},
    "ce_subject": {"description": SUBJECT},
    "ce_time": {**INSTANT, "description": "When it happened (UTC, microseconds)."},
    "content-type": {"const": CONTENT_TYPE, "description": "The body is the payload's JSON."},
}
EXTENSION_HEADERS: dict[str, dict[str, Any]] = {
    "streamid": {"description": "The stream (one aggregate's history) the event belongs to."},
    "streamversion": {
        "pattern": "^[1-9][0-9]*$",
        "description": "The event's place in its stream, from 1.",
    },
    "recordedat": {**INSTANT, "description": "When the event store recorded it."},
    "actor": {
        "description": "Who did it: a NIP, `admin:<name>`, or `<service>:<job>` for a "
        "service's own jobs."
    },
    "correlationid": {"description": "The request or job the event came from."},
    "causationid": {"description": "What caused it, when known; absent otherwise."},
    "previoushash": {
        **SHA256,
        "description": "`ce_hash` of the stream's previous event (64 zeros for the first).",
    },
    "hash": {
        **SHA256,
        "description": "sha256 over the RFC 8785 canonical JSON of the envelope and payload: "
        "the stream's hash chain, checked by `python -m shared.verify`.",
    },
}
OPTIONAL = {"ce_causationid"}

DESCRIPTION = """\
Every event of Kinerja, published by the service that recorded it on its topic
`kinerja.<service>.v1` (a deployment may set another first part, `KINERJA_TOPIC_NAMESPACE`).

Each message is a CloudEvent 1.0 in the Kafka binding's binary mode: the event's payload as
a JSON body, its attributes as `ce_*` headers (UTF-8 text), the subject as the key. Events
with one key stay in order within a topic; across topics nothing is ordered. Delivery is at
least once: deduplicate by `ce_id`. Topics keep events forever, so a new subscriber reads
the whole history from the earliest offset.

The payload schemas are also single JSON Schema files in `shared/contracts/schemas/`.
Topics `{dead_letters}` hold the dead letters of Kinerja's own consumers: internal, not a
contract."""


def service_of(model: type[DomainEvent]) -> str:
    """The service whose catalog module registers the event type: it publishes it."""
    return model.__module__.rsplit(".", 1)[-1]


def payload_schema(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """An exported JSON Schema placed at `#/components/schemas/<name>`: without its `$schema`
    and `$id` (which would give its own `#/$defs/...` references another base), and those
    references spelled from the document's root, as AsyncAPI tools resolve them."""
    inner = {key: value for key, value in schema.items() if key not in ("$schema", "$id")}
    placed: dict[str, Any] = _rebase(inner, "#/$defs/", f"#/components/schemas/{name}/$defs/")
    return placed


def exported_schema(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """`payload_schema` undone, but for the `$schema` and `$id` it dropped."""
    exported: dict[str, Any] = _rebase(schema, f"#/components/schemas/{name}/$defs/", "#/$defs/")
    return exported


def _rebase(schema: Any, old: str, new: str) -> Any:
    if isinstance(schema, dict):
        return {
            key: (new + value.removeprefix(old))
            if key == "$ref" and isinstance(value, str) and value.startswith(old)
            else _rebase(value, old, new)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item, old, new) for item in schema]
    return schema


def _described(docstring: str | None) -> dict[str, str]:
    text = re.sub(r"\s+", " ", (docstring or "").strip())
    return {"description": text} if text else {}


def headers_schema() -> dict[str, Any]:
    properties = {
        **ATTRIBUTES,
        **{f"ce_{name}": EXTENSION_HEADERS[name] for name in EXTENSIONS},
    }
    return {
        "type": "object",
        "description": "CloudEvents attributes as Kafka headers (binary mode), UTF-8 text.",
        "properties": {name: {"type": "string", **spec} for name, spec in properties.items()},
        "required": [name for name in properties if name not in OPTIONAL],
    }


def message(model: type[DomainEvent], ce_type: str) -> dict[str, Any]:
    return {
        "name": model.__name__,
        "title": ce_type,
        **_described(model.__doc__),
        "contentType": CONTENT_TYPE,
        "headers": {
            "allOf": [
                {"$ref": f"#/components/schemas/{HEADERS}"},
                {
                    "type": "object",
                    "properties": {
                        "ce_type": {"const": ce_type},
                        "ce_source": {"const": service_of(model)},
                    },
                },
            ]
        },
        "payload": {"$ref": f"#/components/schemas/{ce_type}"},
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        # the key inline: a `$ref` here is both a Reference and a Schema, which the Kafka
        # binding's `oneOf` refuses
        "bindings": {"kafka": {"key": KEY_SCHEMA, "bindingVersion": KAFKA_BINDING}},
    }


def channel(service: str, ce_types: list[str]) -> dict[str, Any]:
    topic = service_topic(service)
    module = importlib.import_module(f"shared.contracts.{service}")
    return {
        "address": topic,
        "title": topic,
        **_described(module.__doc__),
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in ce_types},
        "bindings": {
            "kafka": {
                "topic": topic,
                "topicConfiguration": {
                    "cleanup.policy": FOREVER["cleanup.policy"].split(","),
                    "retention.ms": int(FOREVER["retention.ms"]),
                    "retention.bytes": int(FOREVER["retention.bytes"]),
                },
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def operation(service: str, ce_types: list[str]) -> dict[str, Any]:
    return {
        "action": "send",
        "channel": {"$ref": f"#/channels/{service}"},
        "summary": f"The {service} service publishes every event it records.",
        "messages": [{"$ref": f"#/channels/{service}/messages/{name}"} for name in ce_types],
    }


def document(registry: EventRegistry) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event type in `registry`, by publishing service."""
    schemas = generate_schemas(registry)
    by_service: dict[str, list[str]] = {}
    messages, payloads = {}, {}
    for model in registry:
        name = versioned_type(model.type_name, model.schema_version)
        by_service.setdefault(service_of(model), []).append(name)
        messages[name] = message(model, name)
        payloads[name] = payload_schema(schemas[f"{name}.json"], name)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Kinerja events",
            "version": "1",
            "description": DESCRIPTION.format(dead_letters=dead_letter_topic("<consumer>")),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": KinerjaSettings.model_fields["kafka_bootstrap_servers"].default,
                "protocol": "kafka",
                "description": "The local stack of `make run`; a deployment has its own brokers.",
            }
        },
        "channels": {service: channel(service, names) for service, names in by_service.items()},
        "operations": {
            f"{service}.publish": operation(service, names) for service, names in by_service.items()
        },
        "components": {
            "schemas": {
                HEADERS: headers_schema(),
                **payloads,
            },
            "messages": messages,
        },
    }


def generate() -> Documents:
    return {FILE_NAME: document(full_catalog())}


if __name__ == "__main__":
    main(generate, FOLDER)
