"""The hand-written binary COPY encoding of the store's bulk append (shared/store/copy_format.py).
That PostgreSQL reads it back as written is shown in tests/integration/test_event_store.py."""

import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.store import copy_format


def test_a_timestamp_counts_microseconds_from_2000_in_utc() -> None:
    wib = timezone(timedelta(hours=7))  # Jakarta: the same instant, spelled 7 hours later
    assert copy_format.timestamptz(datetime(2000, 1, 1, tzinfo=UTC)) == struct.pack(">iq", 8, 0)
    assert copy_format.timestamptz(datetime(2000, 1, 1, 7, 0, 0, 1, tzinfo=wib)) == struct.pack(
        ">iq", 8, 1
    )
    assert copy_format.timestamptz(datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)) == struct.pack(
        ">iq", 8, -1_000_000
    )


@given(st.datetimes(timezones=st.timezones()))
def test_any_aware_timestamp_encodes_its_instant(moment: datetime) -> None:
    size, micros = struct.unpack(">iq", copy_format.timestamptz(moment))
    assert size == 8
    # compared in UTC: Python never finds an instant in a zone's repeated hour equal to
    # one spelled in another zone
    assert datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros) == moment.astimezone(
        UTC
    )


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        copy_format.timestamptz(datetime(2026, 1, 1))  # noqa: DTZ001 (the point)


def test_text_is_its_utf8_length_and_bytes_and_none_is_null() -> None:
    assert copy_format.text("Bandung ü") == struct.pack(">i", 10) + "Bandung ü".encode()
    assert copy_format.text("") == struct.pack(">i", 0)
    assert copy_format.text(None) == struct.pack(">i", -1)


def test_an_integer_is_four_bytes_and_a_row_starts_with_its_field_count() -> None:
    assert copy_format.int4(-2) == struct.pack(">ii", 4, -2)
    assert copy_format.field_count(14) == b"\x00\x0e"
    with pytest.raises(struct.error):
        copy_format.int4(2**31)
