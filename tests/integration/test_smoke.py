"""The wiring works: a topic on the real broker, a pydantic message through FastStream, a row
through asyncpg."""

import asyncio
from datetime import date

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from pydantic import BaseModel


class SmokeSignal(BaseModel):
    nip: str
    tanggal: date
    catatan: str


async def test_a_pydantic_message_crosses_the_real_broker(
    kafka_bootstrap_servers: str, unique_topic: str
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(unique_topic, num_partitions=3, replication_factor=1)])
        assert unique_topic in await admin.list_topics()
    finally:
        await admin.close()

    broker = KafkaBroker(kafka_bootstrap_servers)
    received: asyncio.Future[SmokeSignal] = asyncio.get_running_loop().create_future()

    @broker.subscriber(unique_topic, group_id=f"{unique_topic}.smoke", auto_offset_reset="earliest")
    async def on_signal(signal: SmokeSignal) -> None:
        received.set_result(signal)

    sent = SmokeSignal(nip="199001012015031001", tanggal=date(2026, 11, 28), catatan="uji asap")
    async with broker:
        await broker.start()
        await broker.publish(sent, unique_topic, key=sent.nip.encode())
        got = await asyncio.wait_for(received, timeout=60)

    assert isinstance(got, SmokeSignal)
    assert got == sent


async def test_a_row_round_trips_through_asyncpg(pg: asyncpg.Connection) -> None:
    await pg.execute("CREATE TEMPORARY TABLE smoke (nip text PRIMARY KEY, nilai numeric)")
    await pg.execute("INSERT INTO smoke VALUES ($1, $2)", "199001012015031001", 87.5)

    row = await pg.fetchrow("SELECT nip, nilai FROM smoke")

    assert row is not None
    assert (row["nip"], float(row["nilai"])) == ("199001012015031001", 87.5)
    assert (await pg.fetchval("SHOW server_version")).startswith(("15", "16", "17"))
