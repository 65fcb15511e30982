"""End-to-end fixtures: control of the broker, where the infrastructure is ours to stop."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from deploy.local.stack import Stack
from tests.support.infrastructure import Infrastructure


@dataclass(frozen=True)
class Broker:
    stop: Callable[[], object]
    start: Callable[[], object]


@pytest.fixture
def broker(infrastructure: Infrastructure) -> Broker:
    """Stop and start the Kafka broker of the local stack the session runs on."""
    if not infrastructure.source.startswith("local stack"):
        pytest.skip(f"the broker ({infrastructure.source}) is not this test's to stop")
    kafka = Stack().kafka
    return Broker(stop=kafka.down, start=kafka.up)
