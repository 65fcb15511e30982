"""A relay or a runner waits out a broker that is away instead of taking its process down."""

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError

from shared import process


async def test_a_worker_is_started_again_while_the_broker_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(process, "BACKOFF_SECONDS", (0.01, 0.02))
    attempts: list[int] = []

    async def body(stop: asyncio.Event) -> None:
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise KafkaConnectionError("broker away")

    await asyncio.wait_for(process.through_outages("relay test", asyncio.Event(), body), 5)

    assert attempts == [0, 1, 2]


async def test_any_other_failure_still_ends_the_process() -> None:
    async def body(stop: asyncio.Event) -> None:
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug"):
        await process.through_outages("relay test", asyncio.Event(), body)


async def test_a_stop_during_the_wait_ends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "BACKOFF_SECONDS", (60.0, 60.0))
    stop = asyncio.Event()

    async def body(stop: asyncio.Event) -> None:
        raise KafkaConnectionError("broker away")

    waiting = asyncio.create_task(process.through_outages("relay test", stop, body))
    await asyncio.sleep(0.05)
    stop.set()

    await asyncio.wait_for(waiting, 2)
