"""The AsyncAPI document of Kinerja's topics: committed, current, valid AsyncAPI 3.0, and true to
what goes on the wire."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from shared.contracts import asyncapi, generated
from shared.contracts.catalog import full_catalog
from shared.contracts.journal import EntryRecorded, Evidence
from shared.contracts.notify import WebhookRemoved
from shared.contracts.schemas import FOLDER as SCHEMAS
from shared.events.canonical import GENESIS_HASH
from shared.events.envelope import seal
from shared.events.kafka_binding import Record, to_record
from shared.events.model import DomainEvent

ASYNCAPI_META_SCHEMA = Path(__file__).parents[1] / "support" / "asyncapi" / "asyncapi-3.0.0.json"
PUBLISHED = {"targets", "journal", "appraisal", "notify"}
DOCUMENT_URI = "urn:kinerja:asyncapi"
NIP = "199001012015031001"
STALE = f"run: {generated.REGENERATE}"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    path = asyncapi.FOLDER / asyncapi.FILE_NAME
    committed: dict[str, Any] = json.loads(path.read_text())
    return committed


def test_the_committed_asyncapi_document_matches_the_catalog() -> None:
    assert generated.stale(asyncapi.generate(), asyncapi.FOLDER) == [], STALE


def test_the_asyncapi_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    meta_schema = json.loads(ASYNCAPI_META_SCHEMA.read_text())

    error = best_match(Draft7Validator(meta_schema).iter_errors(document))

    assert error is None, f"{list(error.absolute_path)}: {error.message[:500]}"


def test_each_service_topic_is_one_channel_holding_every_event_type_the_service_publishes(
    document: dict[str, Any],
) -> None:
    expected: dict[str, set[str]] = {service: set() for service in PUBLISHED}
    for model in full_catalog():
        service = asyncapi.service_of(model)
        assert model.type_name.startswith(f"kinerja.{service}."), model
        expected[service].add(f"{model.type_name}.v{model.schema_version}")

    channels = document["channels"]
    assert set(channels) == PUBLISHED
    for service, names in expected.items():
        channel = channels[service]
        assert channel["address"] == channel["bindings"]["kafka"]["topic"]
        assert channel["address"] == f"kinerja.{service}.v1"
        assert set(channel["messages"]) == names
        operation = document["operations"][f"{service}.publish"]
        assert operation["action"] == "send"
        assert len(operation["messages"]) == len(names)


def test_topics_keep_every_event_forever(document: dict[str, Any]) -> None:
    for channel in document["channels"].values():
        assert channel["bindings"]["kafka"]["topicConfiguration"] == {
            "cleanup.policy": ["delete"],
            "retention.ms": -1,
            "retention.bytes": -1,
        }


def test_each_message_payload_is_the_exported_json_schema_of_its_type(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    for name, message in document["components"]["messages"].items():
        exported = json.loads((SCHEMAS / f"{name}.json").read_text())
        assert message["payload"] == {"$ref": f"#/components/schemas/{name}"}
        assert asyncapi.exported_schema(schemas[name], name) == {
            key: value for key, value in exported.items() if key not in ("$schema", "$id")
        }


def test_a_published_record_has_exactly_the_headers_the_document_names(
    document: dict[str, Any],
) -> None:
    headers = document["components"]["schemas"][asyncapi.HEADERS]
    caused = _record(WebhookRemoved(webhook_id="w-1", removed_by="admin:me"), "cmd-1")
    uncaused = _record(WebhookRemoved(webhook_id="w-1", removed_by="admin:me"), None)

    assert {name for name, _ in caused.headers} == set(headers["properties"])
    assert {name for name, _ in uncaused.headers} == set(headers["required"])


@pytest.mark.parametrize("causation_id", ["cmd-1", None])
def test_a_published_record_fits_its_messages_headers_key_and_payload(
    document: dict[str, Any], causation_id: str | None
) -> None:
    record = _record(_an_entry_with_evidence(), causation_id)
    message = "#/components/messages/kinerja.journal.entry-recorded.v1"

    headers = {name: value.decode() for name, value in record.headers}
    _validate(document, headers, message, "headers")
    _validate(document, record.key.decode(), message, "bindings/kafka/key")
    _validate(document, json.loads(record.value), message, "payload")


def test_a_payload_that_breaks_its_schema_is_refused_through_the_document(
    document: dict[str, Any],
) -> None:
    message = "#/components/messages/kinerja.journal.entry-recorded.v1"
    payload = json.loads(_record(_an_entry_with_evidence(), None).value)
    payload["evidence"][0]["sha256"] = "not a hash"

    with pytest.raises(ValidationError, match="does not match"):
        _validate(document, payload, message, "payload")


def _an_entry_with_evidence() -> EntryRecorded:
    return EntryRecorded(
        entry_id="e-1", nip=NIP, skp_id="skp-1", rhk_id="rhk-1", indicator_id="ind-1",
        date=datetime(2026, 3, 2, tzinfo=UTC).date(), description="Laporan Februari",
        realised_value=3, realised_text=None,
        evidence=[Evidence(uri="s3://bukti/feb.pdf", sha256="a" * 64)],
    )  # fmt: skip


def _record(event: DomainEvent, causation_id: str | None) -> Record:
    envelope = seal(
        event_id=uuid.uuid4(),
        event=event,
        source=asyncapi.service_of(type(event)),
        stream_id="stream-1",
        stream_version=1,
        subject=NIP,
        occurred_at=datetime(2026, 3, 2, 7, tzinfo=UTC),
        recorded_at=datetime(2026, 3, 2, 7, 0, 1, tzinfo=UTC),
        actor=NIP,
        correlation_id="req-1",
        causation_id=causation_id,
        previous_hash=GENESIS_HASH,
    )
    return to_record(envelope)


def _validate(document: dict[str, Any], instance: Any, message: str, part: str) -> None:
    """Validate against a part of a message, its `$ref`s resolved within the document."""
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, DRAFT202012.create_resource(document)
    )
    schema = {"$ref": f"{DOCUMENT_URI}{message}/{part}"}
    Draft202012Validator(schema, registry=registry).validate(instance)
