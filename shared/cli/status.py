"""`kinerja status`: are the services ready, how far behind are the relays and the read
models, and what waits in the dead-letter topics."""

import asyncio
import os
from dataclasses import dataclass, field
from typing import Annotated

import asyncpg
import httpx
import typer
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from shared.cli.common import (
    SERVICES,
    BootstrapServers,
    CommandError,
    DatabaseUrl,
    Namespace,
    database,
    fail,
    run,
    settings,
)
from shared.cli.dlq import redriven_below
from shared.cli.kafka import admin_client, committed, partitions_of, plain_consumer
from shared.cli.projections import registry
from shared.config import KinerjaSettings
from shared.projections.dead_letters import dead_letter_spec
from shared.projections.projection import Projection
from shared.relay.outbox import OutboxRelay
from shared.store.event_store import EventStore
from shared.store.migrations import quote_identifier

DEFAULT_PORTS = {"targets": 8001, "journal": 8002, "appraisal": 8003, "notify": 8004}
HTTP_SECONDS = 3.0
UNKNOWN = "?"


@dataclass
class Report:
    ready: dict[str, str] = field(default_factory=dict)  # service -> "ready" or why not
    relay: dict[str, str] = field(default_factory=dict)  # service -> unpublished events
    # projection -> read model's stored offsets, per topic partition
    stored: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)
    redriven: dict[str, int] = field(default_factory=dict)
    ends: dict[TopicPartition, int] = field(default_factory=dict)
    groups: dict[str, dict[TopicPartition, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def default_url(service: str) -> str:
    port = os.environ.get(f"KINERJA_{service.upper()}_PORT", DEFAULT_PORTS[service])
    return f"http://127.0.0.1:{port}"


async def readiness(url: str) -> str:
    try:
        async with httpx.AsyncClient(base_url=url, timeout=HTTP_SECONDS) as client:
            answer = await client.get("/readyz")
    except httpx.HTTPError as error:
        return f"unreachable ({type(error).__name__})"
    if answer.status_code == 200:
        return "ready"
    try:
        checks = answer.json().get("checks", {})
        failing = "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
    except ValueError:
        failing = answer.text[:80]
    return f"not ready ({failing or answer.status_code})"


async def read_database(
    report: Report, config: KinerjaSettings, projections: list[Projection]
) -> None:
    async with database(config) as pool:
        for service in SERVICES:
            store = EventStore(pool, service)
            relay = OutboxRelay(
                store, config.kafka_bootstrap_servers, namespace=config.topic_namespace
            )
            try:
                async with pool.acquire() as connection:
                    lag = await relay.lag(connection)
            except asyncpg.UndefinedTableError:
                report.relay[service] = "no store"
                continue
            behind = f", oldest {lag.seconds:,.0f}s" if lag.events else ""
            report.relay[service] = f"{lag.events} unpublished{behind}"
        for projection in projections:
            report.stored[projection.name] = await _stored_offsets(pool, projection)
            report.redriven[projection.name] = await redriven_below(pool, projection)


async def _stored_offsets(pool: asyncpg.Pool, projection: Projection) -> dict[TopicPartition, int]:
    try:
        schema = quote_identifier(projection.schema())
        rows = await pool.fetch(f"SELECT topic, partition, next_offset FROM {schema}._offsets")
    except asyncpg.UndefinedTableError:
        return {}
    return {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def read_kafka(report: Report, bootstrap_servers: str, projections: list[Projection]) -> None:
    topics = {t for p in projections for t in p.topics} | {
        dead_letter_spec(p).name for p in projections
    }
    async with admin_client(bootstrap_servers) as admin:
        partitions = await partitions_of(admin, topics)
        for projection in projections:
            mine = [tp for t in projection.topics for tp in partitions.get(t, [])]
            report.groups[projection.name] = await committed(
                admin, f"kinerja.{projection.name}", mine
            )
    async with plain_consumer(bootstrap_servers) as consumer:
        every = [tp for tps in partitions.values() for tp in tps]
        report.ends = await consumer.end_offsets(every) if every else {}


async def gather(config: KinerjaSettings, urls: dict[str, str]) -> Report:
    report = Report()
    projections = list(registry(config.topic_namespace).values())
    answers = await asyncio.gather(*(readiness(url) for url in urls.values()))
    report.ready = dict(zip(urls, answers, strict=True))
    try:
        await read_database(report, config, projections)
    except (CommandError, asyncpg.PostgresError, OSError) as error:
        report.problems.append(str(error))
    try:
        await read_kafka(report, config.kafka_bootstrap_servers, projections)
    except (KafkaError, OSError) as error:
        report.problems.append(f"cannot reach Kafka at {config.kafka_bootstrap_servers}: {error}")
    return report


def lag(
    ends: dict[TopicPartition, int], topics: tuple[str, ...], at: dict[TopicPartition, int]
) -> str:
    mine = [tp for tp in ends if tp.topic in topics]
    if not mine:
        return UNKNOWN
    return str(sum(max(ends[tp] - at.get(tp, 0), 0) for tp in mine))


def render(report: Report, projections: list[Projection]) -> bool:
    """Print the tables; whether everything is well (every service ready, no dead letter)."""
    services = Table("service", "API", "relay")
    for service in SERVICES:
        services.add_row(
            service, report.ready.get(service, UNKNOWN), report.relay.get(service, UNKNOWN)
        )
    reads = Table("projection", "lag (read model)", "lag (group commits)", "dead letters")
    waiting = 0
    for p in projections:
        group = report.groups.get(p.name)
        dlq = TopicPartition(dead_letter_spec(p).name, 0)
        pending = max(report.ends.get(dlq, 0) - report.redriven.get(p.name, 0), 0)
        waiting += pending
        reads.add_row(
            p.name,
            lag(report.ends, p.topics, report.stored.get(p.name, {})),
            lag(report.ends, p.topics, group) if group else "no commits",
            str(pending) if report.ends or not report.problems else UNKNOWN,
        )
    console = Console()
    console.print(services)
    console.print(reads)
    ready = all(answer == "ready" for answer in report.ready.values())
    return ready and not waiting


def status(
    service_url: Annotated[
        list[str] | None,
        typer.Option(
            "--service-url",
            metavar="NAME=URL",
            help="where a service answers (repeatable) [default: http://127.0.0.1:800x, the"
            " port from $KINERJA_<NAME>_PORT]",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    bootstrap_servers: BootstrapServers = None,
    namespace: Namespace = None,
) -> None:
    """Show each service's readiness and relay lag, and each read model's consumer lag and
    dead letters. Exit 0: all ready, no dead letter; 1: not so; 2: the database or Kafka
    unreachable."""
    config = settings(database_url, bootstrap_servers, namespace)
    urls = {service: default_url(service) for service in SERVICES}
    for given in service_url or []:
        name, _, url = given.partition("=")
        if name not in urls or not url:
            fail(f"status: --service-url takes NAME=URL, NAME one of {', '.join(SERVICES)}")
        urls[name] = url
    report = run("status", lambda: gather(config, urls))
    well = render(report, list(registry(config.topic_namespace).values()))
    for problem in report.problems:
        typer.echo(f"status: {problem}", err=True)
    if report.problems:
        raise typer.Exit(2)
    raise typer.Exit(0 if well else 1)
