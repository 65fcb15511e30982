"""The chain check on its own: envelopes in, breaks out, no database and no broker."""

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.events.canonical import GENESIS_HASH
from shared.events.envelope import Envelope, seal
from shared.events.kafka_binding import to_record
from shared.verification.chain import Link, StreamChain, head_breaks
from shared.verification.report import Break
from shared.verification.topic import TopicWalk
from tests.support.events import TargetSet

NIP = "199001012015031001"
MOMENT = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)


def chain_of(length: int, stream_id: str = "skp-1") -> list[Envelope]:
    events, previous = [], GENESIS_HASH
    for version in range(1, length + 1):
        event = seal(
            event_id=uuid.uuid4(),
            event=TargetSet(indicator=f"indikator-{version}", target=version),
            source="targets",
            stream_id=stream_id,
            stream_version=version,
            subject=NIP,
            occurred_at=MOMENT,
            recorded_at=MOMENT,
            actor=NIP,
            correlation_id="c",
            causation_id=None,
            previous_hash=previous,
        )
        events.append(event)
        previous = event.hash
    return events


def edited(event: Envelope, target: int = 999) -> Envelope:
    """The content changed, the recorded hash left as it was."""
    return replace(event, payload={**event.payload, "target": target})


def resealed(event: Envelope, **changes: Any) -> Envelope:
    """The content changed and the hash recomputed: intact on its own."""
    changed = replace(event, **changes)
    return replace(changed, hash=changed.computed_hash())


def walk(delivered: list[Envelope]) -> list[Break]:
    chain, breaks = StreamChain(delivered[0].stream_id), []
    for arrival, event in enumerate(delivered):
        breaks += chain.follow(event, f"arrival {arrival}")
    return breaks + chain.finish()


def verdicts(breaks: list[Break]) -> list[tuple[str, int | None]]:
    return [(b.kind, b.version) for b in breaks]


def test_a_whole_chain_has_no_breaks() -> None:
    assert walk(chain_of(5)) == []


def test_an_edited_event_is_the_one_break_and_its_successor_still_links() -> None:
    events = chain_of(4)
    events[1] = edited(events[1])

    [found] = walk(events)

    assert (found.kind, found.stream_id, found.version, found.where) == (
        "edited",
        "skp-1",
        2,
        "arrival 1",
    )


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    events = chain_of(4)
    events[1] = resealed(events[1], payload={"indicator": "palsu", "target": 1})

    assert verdicts(walk(events)) == [("broken-link", 3)]


def test_a_gap_is_missing_at_the_first_absent_version() -> None:
    events = chain_of(6)

    breaks = walk([events[0], events[3], events[4], events[5]])

    assert verdicts(breaks) == [("missing", 2)]
    assert "versions 2..3 absent before version 4" in breaks[0].detail


def test_a_stream_seen_first_after_version_one_is_missing_its_start() -> None:
    assert verdicts(walk(chain_of(3)[1:])) == [("missing", 1)]


def test_a_first_version_not_chained_to_genesis_is_a_broken_link() -> None:
    [first] = chain_of(1)

    assert verdicts(walk([resealed(first, previous_hash="f" * 64)])) == [("broken-link", 1)]


def test_delivering_the_head_again_is_no_break() -> None:
    events = chain_of(3)

    assert walk([*events, events[2], events[2]]) == []


def test_the_heads_predecessor_delivered_again_is_vouched_for_by_the_head() -> None:
    events = chain_of(3)

    assert walk([*events, events[1]]) == []


def test_a_re_sent_run_that_rejoins_the_head_is_no_break() -> None:
    events = chain_of(5)

    assert walk([*events[:4], *events[1:4], events[4], *events]) == []


def test_an_older_version_that_never_rejoins_the_head_is_reordered() -> None:
    events = chain_of(4)

    breaks = walk([*events, events[0]])

    assert verdicts(breaks) == [("reordered", 1)]
    assert breaks[0].where == "arrival 4"


def test_a_version_overtaken_by_its_successor_is_missing_then_reordered() -> None:
    events = chain_of(4)

    assert verdicts(walk([events[0], events[2], events[1], events[3]])) == [
        ("missing", 2),
        ("reordered", 2),
    ]


def test_a_second_content_under_a_seen_event_id_is_forged() -> None:
    events = chain_of(3)
    forgery = resealed(events[2], payload={"indicator": "palsu", "target": 1})

    breaks = walk([*events, forgery])

    assert verdicts(breaks) == [("forged", 3)]
    assert str(events[2].event_id) in breaks[0].detail


def test_another_event_claiming_a_taken_version_is_forged() -> None:
    events = chain_of(3)

    assert verdicts(walk([*events, resealed(events[2], event_id=uuid.uuid4())])) == [("forged", 3)]


def test_older_versions_sent_again_with_other_content_are_forged_where_they_arrive() -> None:
    events = chain_of(3)
    other_second = resealed(events[1], payload={"indicator": "palsu", "target": 1})
    other_third = resealed(events[2], previous_hash=other_second.hash)

    breaks = walk([*events, other_second, other_third])

    assert verdicts(breaks) == [("forged", 2), ("forged", 3)]
    assert [b.where for b in breaks] == ["arrival 3", "arrival 4"]


def test_a_re_send_cut_short_is_vouched_for_by_a_later_run_through_it() -> None:
    events = chain_of(4)

    assert walk([*events, events[0], events[1], *events]) == []


def test_a_re_send_cut_short_and_never_vouched_for_is_reordered() -> None:
    events = chain_of(5)

    breaks = walk([*events[:4], events[0], events[1], events[4]])

    assert verdicts(breaks) == [("reordered", 1)]
    assert "versions 1..2 came after version 5" in breaks[0].detail


def test_two_re_sends_that_disagree_are_forged() -> None:
    events = chain_of(4)
    other_first = resealed(events[0], payload={"indicator": "palsu", "target": 1})

    breaks = walk([*events, events[0], other_first])

    assert ("forged", 1) in verdicts(breaks)


def test_an_edited_copy_of_a_seen_version_is_only_edited() -> None:
    events = chain_of(3)

    assert verdicts(walk([*events, edited(events[1])])) == [("edited", 2)]


@given(st.integers(min_value=1, max_value=8), st.integers(min_value=0, max_value=4), st.data())
def test_a_relay_that_restarts_from_any_checkpoint_never_looks_broken(
    length: int, crashes: int, data: st.DataObject
) -> None:
    events, delivered, checkpoint = chain_of(length), [], 0
    for _ in range(crashes):
        crashed_at = data.draw(st.integers(min_value=checkpoint, max_value=length))
        delivered += events[checkpoint:crashed_at]
        # the checkpoint lags what was published: the restart publishes some of it again
        checkpoint = data.draw(st.integers(min_value=checkpoint, max_value=crashed_at))
    delivered += events[checkpoint:]

    assert walk(delivered) == []


@given(st.integers(min_value=3, max_value=8), st.data())
def test_any_one_deleted_event_before_the_last_is_missing_at_its_version(
    length: int, data: st.DataObject
) -> None:
    events = chain_of(length)
    deleted = data.draw(st.integers(min_value=0, max_value=length - 2))

    assert verdicts(walk(events[:deleted] + events[deleted + 1 :])) == [("missing", deleted + 1)]


def test_a_head_is_checked_against_the_last_stored_event() -> None:
    last = Link(3, "a" * 64, uuid.uuid4(), "b" * 64)

    assert head_breaks("s", last, 3, "a" * 64) == []
    assert verdicts(head_breaks("s", last, 4, "c" * 64)) == [("missing", 4)]
    assert verdicts(head_breaks("s", last, 3, "c" * 64)) == [("head-mismatch", 3)]
    assert verdicts(head_breaks("s", last, 2, "a" * 64)) == [("head-mismatch", 3)]
    assert verdicts(head_breaks("s", last, None, None)) == [("head-mismatch", 3)]
    assert verdicts(head_breaks("s", None, 2, "a" * 64)) == [("missing", 1)]


def test_on_a_topic_a_message_that_is_no_event_of_ours_is_forged() -> None:
    topic = TopicWalk("kinerja.targets.v1")

    topic.read(2, 7, b"bukan event", [("ce_id", b"x")])
    topic.read(2, 8, None, [])
    audit = topic.finish()

    assert [(b.where, b.stream_id, b.version, b.kind) for b in audit.breaks] == [
        ("topic kinerja.targets.v1 partition 2 offset 7", "?", None, "forged"),
        ("topic kinerja.targets.v1 partition 2 offset 8", "?", None, "forged"),
    ]
    assert all("\n" not in b.detail for b in audit.breaks)


def test_on_a_topic_a_record_with_an_altered_body_is_edited() -> None:
    topic = TopicWalk("t")
    first, second = (to_record(event) for event in chain_of(2))

    topic.read(0, 0, first.value, first.headers)
    altered = json.dumps({**json.loads(second.value), "target": 3}).encode()
    topic.read(0, 1, altered, second.headers)
    audit = topic.finish()

    assert verdicts(audit.breaks) == [("edited", 2)]
    assert (audit.events, audit.streams) == (2, 1)
