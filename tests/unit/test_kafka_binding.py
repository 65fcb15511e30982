import uuid
from dataclasses import replace
from datetime import UTC, datetime

import orjson
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat

from shared.events.canonical import GENESIS_HASH
from shared.events.envelope import Envelope, seal
from shared.events.kafka_binding import (
    WRITTEN,
    NotAKinerjaEvent,
    Record,
    from_record,
    to_record,
    to_structured,
)
from tests.support.events import TargetSet


def an_envelope(**changes: object) -> Envelope:
    envelope = seal(
        event_id=uuid.uuid4(),
        event=TargetSet(indicator="Laporan keuangan tepat waktu", target=12),
        source="targets",
        stream_id="skp-199001012015031001-2026",
        stream_version=3,
        subject="199001012015031001",
        occurred_at=datetime(2026, 11, 28, 7, 0, 0, 123456, tzinfo=UTC),
        recorded_at=datetime(2026, 11, 28, 7, 0, 1, 654321, tzinfo=UTC),
        actor="199001012015031001",
        correlation_id="req-42",
        causation_id="cmd-7",
        previous_hash=GENESIS_HASH.replace("0", "a"),
    )
    return replace(envelope, **changes)  # type: ignore[arg-type]


def test_an_envelope_round_trips_through_a_record_intact() -> None:
    sent = an_envelope()

    received = from_record(*_value_and_headers(to_record(sent)))

    assert received == sent
    assert received.is_intact()


@pytest.mark.parametrize("causation_id", ["cmd-7", None])
def test_headers_in_another_order_or_with_others_beside_them_read_the_same(
    causation_id: str | None,
) -> None:
    """Ours are read by position (`from_record` counts on `to_record`'s order); a message
    from another producer, or with tracing headers added on the way, by name."""
    sent = an_envelope(causation_id=causation_id)
    record = to_record(sent)
    written = [name for name, _ in record.headers]

    assert written == [n for n in WRITTEN if causation_id or n != "ce_causationid"]
    assert from_record(record.value, list(reversed(record.headers))) == sent
    assert from_record(record.value, [*record.headers, ("traceparent", b"00-ab")]) == sent
    without_content_type = [(n, v) for n, v in record.headers if n != "content-type"]
    assert from_record(record.value, without_content_type) == sent


@pytest.mark.parametrize("reorder", [False, True])
@pytest.mark.parametrize("missing", ["ce_id", "ce_hash", "ce_streamid"])
def test_a_message_missing_an_attribute_is_not_one_of_ours(missing: str, reorder: bool) -> None:
    record = to_record(an_envelope())
    headers = [(name, value) for name, value in record.headers if name != missing]
    if reorder:
        headers.reverse()

    with pytest.raises(NotAKinerjaEvent, match=missing):
        from_record(record.value, headers)


def test_the_record_is_a_cloudevent_in_binary_mode_keyed_by_nip() -> None:
    record = to_record(an_envelope())

    event = from_binary(KafkaMessage(dict(record.headers), record.key, record.value), JSONFormat())
    attributes = event.get_attributes()

    assert record.key == b"199001012015031001"
    assert attributes["type"] == "kinerja.test.target-set.v1"
    assert attributes["source"] == "targets"
    assert attributes["subject"] == "199001012015031001"
    assert attributes["streamversion"] == "3"
    assert attributes["correlationid"] == "req-42"
    assert dict(record.headers)["ce_time"] == b"2026-11-28T07:00:00.123456Z"
    assert event.get_data() == {"indicator": "Laporan keuangan tepat waktu", "target": 12}


def test_the_structured_form_is_a_cloudevent_in_json_with_the_same_attributes() -> None:
    envelope = an_envelope()

    event = JSONFormat().read(None, orjson.dumps(to_structured(envelope)))
    attributes = event.get_attributes()

    assert attributes["id"] == str(envelope.event_id)
    assert attributes["type"] == "kinerja.test.target-set.v1"
    assert attributes["hash"] == envelope.hash
    assert attributes["streamversion"] == 3
    assert event.get_data() == {"indicator": "Laporan keuangan tepat waktu", "target": 12}


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("ce_specversion", b"0.3"),
        ("ce_hash", b"not-a-hash"),
        ("ce_streamversion", b"zero"),
        ("ce_time", b"2026-11-28T07:00:00"),
        ("ce_type", b"no-version-suffix"),
        ("ce_type", b"kinerja.test.target-set.v0"),
        ("ce_streamversion", b"0"),
        ("ce_id", b"not-a-uuid"),
    ],
)
@pytest.mark.parametrize("reorder", [False, True])
def test_a_message_with_a_bad_attribute_is_not_one_of_ours(
    header: str, value: bytes, reorder: bool
) -> None:
    record = to_record(an_envelope())
    headers = [(name, value if name == header else raw) for name, raw in record.headers]
    if reorder:
        headers.reverse()

    with pytest.raises(NotAKinerjaEvent):
        from_record(record.value, headers)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_not_one_of_ours(body: bytes) -> None:
    with pytest.raises(NotAKinerjaEvent):
        from_record(body, to_record(an_envelope()).headers)


def test_a_message_without_cloudevent_headers_is_not_one_of_ours() -> None:
    with pytest.raises(NotAKinerjaEvent, match="CloudEvent"):
        from_record(b'{"a": 1}', [("traceparent", b"00-abc")])


def _value_and_headers(record: Record) -> tuple[bytes, list[tuple[str, bytes]]]:
    return record.value, record.headers
