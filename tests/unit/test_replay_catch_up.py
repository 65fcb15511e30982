"""Replay's catch-up loop against a consumer that fetches past the end offsets it reported:
nothing fetched may be left out."""

from dataclasses import dataclass, field

from aiokafka import TopicPartition

from shared.projections.batch import Fetched
from shared.projections.replay_worker import catch_up
from tests.support.kafka import Consumed

PARTITION = TopicPartition("kinerja.targets.v1", 0)


@dataclass
class GrowingTopic:
    """Reports 3 messages at the end, then hands out 5: two arrived meanwhile."""

    at: int = 0
    written: int = 5
    fetch_size: int = 5
    asked_ends: int = 0

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.asked_ends += 1
        return {PARTITION: 3}

    async def position(self, partition: TopicPartition) -> int:
        return self.at

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int
    ) -> dict[TopicPartition, list[Consumed]]:
        batch = [
            Consumed(PARTITION.topic, 0, o)
            for o in range(self.at, min(self.written, self.at + self.fetch_size))
        ]
        self.at += len(batch)
        return {PARTITION: batch}


@dataclass
class Applied:
    offsets: list[int] = field(default_factory=list)

    async def __call__(self, groups: list[list[Fetched]]) -> None:
        self.offsets += [f.message.offset for group in groups for f in group]


async def test_records_fetched_past_the_end_offsets_are_applied_not_dropped() -> None:
    topic, applied = GrowingTopic(), Applied()

    read = await catch_up(topic, [PARTITION], applied, None)

    assert applied.offsets == [0, 1, 2, 3, 4]  # the consumer is at 5: 3 and 4 have no second chance
    assert read == 5
