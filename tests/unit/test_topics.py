"""ensure_topics against a cluster that answers for each topic: made, there already, or
refused (a cluster whose operator makes the topics and denies us CreateTopics)."""

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.relay import topics
from shared.relay.topics import TopicSpec, ensure_topics

DENIED = 29  # TOPIC_AUTHORIZATION_FAILED


@dataclass
class Cluster:
    """What the fake admin client answers: a code per topic, and the topics that exist."""

    codes: dict[str, int]
    existing: list[str] = field(default_factory=list)
    listed: int = 0


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Cluster:
    cluster = Cluster({})

    class Admin:
        def __init__(self, **_: object) -> None: ...

        async def start(self) -> None: ...

        async def close(self) -> None: ...

        async def create_topics(self, new: list[NewTopic]) -> SimpleNamespace:
            names = [topic.name for topic in new]
            return SimpleNamespace(
                topic_errors=[(name, cluster.codes[name], None) for name in names]
            )

        async def list_topics(self) -> list[str]:
            cluster.listed += 1
            return cluster.existing

    monkeypatch.setattr(topics, "AIOKafkaAdminClient", Admin)
    return cluster


async def test_made_topics_are_named_and_nothing_else_is_asked(cluster: Cluster) -> None:
    cluster.codes = {"a": 0, "b": TopicAlreadyExistsError.errno}

    made = await ensure_topics("broker:9092", [TopicSpec("a", 3), TopicSpec("b", 3)])

    assert made == ["a"]
    assert cluster.listed == 0  # no listing of every topic of the cluster


async def test_a_refused_topic_that_exists_is_fine(cluster: Cluster) -> None:
    cluster.codes, cluster.existing = {"a": DENIED}, ["a", "other"]

    assert await ensure_topics("broker:9092", [TopicSpec("a", 3)]) == []


async def test_a_refused_topic_that_does_not_exist_fails_with_its_name(cluster: Cluster) -> None:
    cluster.codes, cluster.existing = {"a": DENIED, "b": DENIED, "c": 0}, ["b"]

    with pytest.raises(RuntimeError, match=f"a: error {DENIED}") as raised:
        await ensure_topics("broker:9092", [TopicSpec(n, 1) for n in "abc"])
    assert "b:" not in str(raised.value)
