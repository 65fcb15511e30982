"""A relay or a runner waits out a broker that is away instead of taking its process down."""

import asyncio

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError

from shared import process


@pytest.mark.parametrize(
    "away",
    [
        KafkaConnectionError("broker away"),
        ConnectionRefusedError(111, "Connect call failed"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
    ],
    ids=["broker", "refused", "starting up", "shut down", "closed mid-query", "closed"],
)
async def test_a_worker_is_started_again_while_the_broker_or_database_is_away(
    monkeypatch: pytest.MonkeyPatch, away: Exception
) -> None:
    monkeypatch.setattr(process, "BACKOFF_SECONDS", (0.01, 0.02))
    attempts: list[int] = []

    async def body(stop: asyncio.Event) -> None:
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise away

    await asyncio.wait_for(process.through_outages("relay test", asyncio.Event(), body), 5)

    assert attempts == [0, 1, 2]


@pytest.mark.parametrize(
    "bug",
    [
        ValueError("a bug, not an outage"),
        asyncpg.exceptions.UndefinedTableError("a bug, not an outage"),
        asyncpg.InterfaceError("a bug, not an outage: another operation is in progress"),
    ],
    ids=["python", "sql", "client misuse"],
)
async def test_any_other_failure_still_ends_the_process(bug: Exception) -> None:
    async def body(stop: asyncio.Event) -> None:
        raise bug

    with pytest.raises(type(bug), match="a bug"):
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
