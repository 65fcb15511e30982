"""The processes of a replay in several: each rebuilds the building schema from its share of
the topic partitions, from their beginning to their end offsets, reporting its progress.

They are forked from a multiprocessing forkserver that has already imported this module and
the projection's: a worker starts in milliseconds instead of the second a fresh interpreter
takes to import the kit, and it is forked from that clean single-threaded server, never from
the replaying process with its event loop, threads and open connections. The server starts
with the first replay in several processes and lives as long as the process that started
it, so `kinerja replay all` pays its start once.

Each batch commits with its partitions' offsets, as in a replay in one process: the
replaying process continues every partition from where its worker's last batch left it.
"""

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.observability.logging import configure_logging
from shared.projections.applier import Applier
from shared.projections.batch import Fetched, fetched
from shared.projections.dead_letters import WaitingDeadLetters
from shared.projections.projection import Projection
from shared.runtime import tune_garbage_collector
from shared.store.db import create_pool

Progress = Callable[[int, int], None]  # (messages read, messages to read)
_FORKSERVER: Any = multiprocessing.get_context("forkserver")


@dataclass(frozen=True)
class CatchUpJob:
    projection: Projection
    database_url: str
    bootstrap_servers: str
    schema: str
    batch_size: int
    redriven_below: int = 0  # where the dead letters still waiting begin (WaitingDeadLetters)
    partitions: tuple[tuple[str, int], ...] = ()
    log_level: str = "INFO"


def history_consumer(bootstrap_servers: str, batch_size: int) -> AIOKafkaConsumer:
    """A consumer that reads history as fast as it can: big fetches, so big transactions."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        max_poll_records=batch_size,
        max_partition_fetch_bytes=2 * 1024 * 1024,
        # a fetch at the end of a partition waits this long for news, and a request for the end
        # offsets waits behind it on the connection: at aiokafka's 500 ms, every catch-up of a
        # replay that had reached the end began half a second late
        fetch_max_wait_ms=20,
        auto_offset_reset="earliest",  # an offset reset racing seek_to_beginning stays at the start
    )


async def catch_up(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    process: Callable[[list[list[Fetched]]], Any],
    progress: Progress | None,
    already: int = 0,
) -> int:
    """Read and apply every partition up to the end offsets of now."""
    ends = await consumer.end_offsets(partitions)
    total = already + sum(ends[p] - at for p, at in (await positions(consumer, partitions)).items())
    read = 0
    while any(
        position < ends[p] for p, position in (await positions(consumer, partitions)).items()
    ):
        batches = await consumer.getmany(*partitions, timeout_ms=500)
        # everything fetched is applied, also past `ends`: the consumer has moved beyond it,
        # so a record left out here would be missing from the rebuilt read model for good
        groups = [fetched(records) for records in batches.values() if records]
        if groups:
            await process(groups)
            read += sum(len(group) for group in groups)
        if progress:
            progress(already + read, max(total, already + read))
    return read


async def positions(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """Where the consumer will read next in each partition."""
    return {p: await consumer.position(p) for p in partitions}


async def in_processes(
    job: CatchUpJob, shares: list[list[TopicPartition]], progress: Progress | None
) -> int:
    """A worker process per share of the partitions, until each has caught up; their progress
    summed. A worker that fails stops the others and is raised."""
    _FORKSERVER.set_forkserver_preload([__name__, type(job.projection).__module__])
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    reads = [(0, 0)] * len(shares)
    loop = asyncio.get_running_loop()
    workers = []
    for share in shares:
        reader, writer = _FORKSERVER.Pipe(duplex=False)
        part = replace(
            job, partitions=tuple((p.topic, p.partition) for p in share), log_level=level
        )
        worker = _FORKSERVER.Process(target=_work, args=(part, writer), daemon=True)
        await asyncio.to_thread(worker.start)  # the first start waits for the server's imports
        writer.close()
        workers.append((worker, reader, part))

    async def follow(index: int) -> None:
        worker, reader, part = workers[index]
        ended = asyncio.Event()

        def readable() -> None:
            try:
                while reader.poll():
                    reads[index] = reader.recv()
            except EOFError:
                loop.remove_reader(reader.fileno())
                ended.set()
                return
            if progress:
                progress(sum(r for r, _ in reads), sum(t for _, t in reads))

        loop.add_reader(reader.fileno(), readable)
        try:
            await ended.wait()
        finally:
            loop.remove_reader(reader.fileno())
            reader.close()
        await asyncio.to_thread(worker.join)
        if worker.exitcode != 0:
            raise RuntimeError(
                f"the replay worker for {list(part.partitions)} ended with exit code"
                f" {worker.exitcode}"
            )

    try:
        await asyncio.gather(*(follow(k) for k in range(len(workers))))
    finally:
        for worker, _, _ in workers:
            if worker.exitcode is None:
                worker.kill()
                await asyncio.to_thread(worker.join)
    return sum(read for read, _ in reads)


def _work(job: CatchUpJob, report: Connection) -> None:
    """The worker process."""
    configure_logging(f"replay-{job.projection.name}", job.log_level)
    tune_garbage_collector()
    asyncio.run(_catch_up_share(job, report))
    report.close()


async def _catch_up_share(job: CatchUpJob, report: Connection) -> None:
    # the replaying process gone (killed, say), its worker goes at once, its open transaction
    # rolled back with its connection: a worker outliving its replay would write into the
    # schema of the next one
    parent = multiprocessing.parent_process()
    if parent is not None:
        asyncio.get_running_loop().add_reader(parent.sentinel, os._exit, 1)
    pool = await create_pool(job.database_url, min_size=1, max_size=2)
    consumer = history_consumer(job.bootstrap_servers, job.batch_size)
    producer = AIOKafkaProducer(bootstrap_servers=job.bootstrap_servers, enable_idempotence=True)
    waiting = WaitingDeadLetters(job.bootstrap_servers, job.projection, job.redriven_below)
    await consumer.start()
    await producer.start()
    try:
        partitions = [TopicPartition(topic, number) for topic, number in job.partitions]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        applier = Applier(job.projection, pool, producer, job.schema, waiting=waiting)
        await catch_up(
            consumer,
            partitions,
            applier.process_fetched,
            lambda read, total: report.send((read, total)),
        )
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
        with contextlib.suppress(Exception):
            await producer.stop()
        with contextlib.suppress(Exception):
            await waiting.close()
        await pool.close()
