"""Topic names and settings. Topics are created by the code, never auto-created."""

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = structlog.get_logger(__name__)

# events are the system of record for auditors: never deleted by age or size
FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


def service_topic(service: str, namespace: str = "kinerja") -> str:
    """Where a service's events are published: `kinerja.<service>.v1`, keyed by NIP."""
    return f"{namespace}.{service}.v1"


def dead_letter_topic(consumer: str, namespace: str = "kinerja") -> str:
    return f"{namespace}.dlq.{consumer}"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int = 1
    config: dict[str, str] = field(default_factory=lambda: dict(FOREVER))


async def ensure_topics(bootstrap_servers: str, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; returns the names it created.

    One CreateTopics request for them all, a topic that exists answering "already exists":
    asking first which topics exist lists every topic of the cluster, 70 ms on a broker of
    2,700 topics, paid by every relay, runner and replay as it starts. A cluster that does not
    let us create topics (its operator makes them) is asked whether ours exist instead."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.config)
                for s in specs
            ]
        )
        # (name, code) in CreateTopics v0, (name, code, message) after it
        outcomes = {name: (code, message) for name, code, *message in response.topic_errors}
        refused = {
            name: outcome
            for name, outcome in outcomes.items()
            if outcome[0] not in (0, TopicAlreadyExistsError.errno)
        }
        if refused and (missing := sorted(set(refused) - set(await admin.list_topics()))):
            raise RuntimeError(
                "creating topics failed: "
                + "; ".join(
                    f"{name}: error {refused[name][0]} {refused[name][1]}" for name in missing
                )
            )
        return [spec.name for spec in specs if outcomes.get(spec.name, (None,))[0] == 0]
    finally:
        await admin.close()


async def wait_for_topics(
    bootstrap_servers: str, topics: Iterable[str], stop: asyncio.Event, poll_seconds: float = 1
) -> bool:
    """Wait until every topic exists (its owner's relay creates it on first start, and the
    services start in any order); False if `stop` was set first."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        missing = set(topics)
        while missing := missing - set(await admin.list_topics()):
            log.info("topics.waiting", topics=sorted(missing))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)
            if stop.is_set():
                return False
        return True
    finally:
        await admin.close()


async def topic_partitions(bootstrap_servers: str, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics; waits briefly for a topic created a moment ago."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        found: list[TopicPartition] = []
        for topic in topics:
            for _ in range(50):
                [description] = await admin.describe_topics([topic])
                if description["partitions"]:
                    break
                await asyncio.sleep(0.1)
            else:
                raise LookupError(f"topic {topic} does not exist")
            found += sorted(
                TopicPartition(topic, p["partition"]) for p in description["partitions"]
            )
        return found
    finally:
        await admin.close()
