"""Which failures of a projection are an event PostgreSQL can never store (dead-lettered at
once, under their own reason), and how a replay knows a dead letter already waiting."""

import asyncpg
import pytest

from shared.projections.batch import ApplyFailed, cannot_store
from shared.projections.dead_letters import (
    FAILED,
    UNSTORABLE,
    WaitingDeadLetters,
    failure_of,
)
from tests.support.kafka import Consumed
from tests.support.projections import Tally


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            asyncpg.CharacterNotInRepertoireError(
                'invalid byte sequence for encoding "UTF8": 0x00'
            ),
            "a NUL character (U+0000)",
        ),
        (asyncpg.UntranslatableCharacterError("unsupported Unicode escape sequence"), "a NUL"),
        (asyncpg.NumericValueOutOfRangeError("value out of range: overflow"), "a number out of"),
        (
            asyncpg.DataError(
                "invalid input for query argument $2: 1099511627776 (value out of int32 range)"
            ),
            "a number out of",
        ),
        (
            asyncpg.DataError(
                "invalid input for query argument $1: '\\ud800' ('utf-8' codec"
                " can't encode character '\\ud800': surrogates not allowed)"
            ),
            "not UTF-8",
        ),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), "not UTF-8"),
        (asyncpg.StringDataRightTruncationError("value too long"), "a value the read model's"),
    ],
)
def test_what_postgresql_cannot_store_is_said_so(error: BaseException, said: str) -> None:
    reason = cannot_store(ApplyFailed(Consumed("t", 0, 1), error))

    assert reason is not None
    assert reason.startswith("PostgreSQL cannot store this event: it holds ")
    assert said in reason
    assert failure_of(error) == (UNSTORABLE, reason)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("cannot tally 'poison' yet"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.UndefinedTableError('relation "notes" does not exist'),
        KeyError("indicator"),
    ],
)
def test_any_other_failure_is_retried_then_dead_lettered_as_failed(error: Exception) -> None:
    assert cannot_store(error) is None
    assert failure_of(error) == (FAILED, repr(error))


def _dead_letter(origin: tuple[str, int, int], event_id: bytes, offset: int) -> Consumed:
    topic, partition, at = origin
    headers = [
        ("ce_id", event_id),
        ("x-dlq-topic", topic.encode()),
        ("x-dlq-partition", str(partition).encode()),
        ("x-dlq-offset", str(at).encode()),
    ]
    return Consumed("kinerja.dlq.test.named", 0, offset, headers=headers)


def test_a_message_waits_already_by_its_origin_or_by_its_event_id() -> None:
    waiting = WaitingDeadLetters("unused:9092", Tally("test.named", "kinerja.test.v1"), start=0)
    waiting._remember(_dead_letter(("kinerja.test.v1", 2, 40), b"event-1", 0))

    same_place = Consumed("kinerja.test.v1", 2, 40, headers=[("ce_id", b"other")])
    republished = Consumed("kinerja.test.v1", 0, 7, headers=[("ce_id", b"event-1")])
    elsewhere = Consumed("kinerja.test.v1", 2, 41, headers=[("ce_id", b"event-2")])
    no_event = Consumed("kinerja.test.v1", 1, 40)

    assert [waiting._holds(m) for m in (same_place, republished, elsewhere, no_event)] == [
        True, True, False, False,
    ]  # fmt: skip
