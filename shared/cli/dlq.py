"""`kinerja dlq list|redrive`: the messages projections set aside after their retries, and
applying them again once the cause is fixed."""

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Annotated

import asyncpg
import typer
from aiokafka import TopicPartition
from rich.console import Console
from rich.table import Table

from shared.cli.common import (
    BootstrapServers,
    DatabaseUrl,
    Namespace,
    database,
    progress_bar,
    run,
    settings,
)
from shared.cli.kafka import admin_client, partitions_of, plain_consumer, read_from
from shared.cli.projections import ALL, chosen
from shared.projections.dead_letters import dead_letter_spec
from shared.projections.projection import Projection
from shared.projections.redrive import redrive as redrive_projection
from shared.store.migrations import quote_identifier

app = typer.Typer(
    help="Dead letters: the messages a projection set aside after its retries.",
    no_args_is_help=True,
)


class Format(StrEnum):
    table = "table"
    json = "json"


@dataclass(frozen=True)
class DeadLetter:
    projection: str
    offset: int  # in the dead-letter topic
    origin: str  # topic/partition@offset it came from
    stream_id: str
    stream_version: str
    event_type: str
    reason: str
    error: str
    failed_at: str
    redriven: bool


def dead_letter(projection: str, record: object, redriven_below: int) -> DeadLetter:
    headers = {name: value.decode(errors="replace") for name, value in record.headers}  # type: ignore[attr-defined]
    offset: int = record.offset  # type: ignore[attr-defined]
    return DeadLetter(
        projection=projection,
        offset=offset,
        origin=f"{headers.get('x-dlq-topic', '?')}/{headers.get('x-dlq-partition', '?')}"
        f"@{headers.get('x-dlq-offset', '?')}",
        stream_id=headers.get("ce_streamid", "?"),
        stream_version=headers.get("ce_streamversion", "?"),
        event_type=headers.get("ce_type", "?"),
        reason=headers.get("x-dlq-reason", ""),
        error=headers.get("x-dlq-error", ""),
        failed_at=headers.get("x-dlq-failed-at", ""),
        redriven=offset < redriven_below,
    )


async def redriven_below(pool: asyncpg.Pool, projection: Projection) -> int:
    """The first dead letter a re-drive has not got past, as the read model stores it."""
    try:
        stored = await pool.fetchval(
            f"SELECT next_offset FROM {quote_identifier(projection.schema())}._offsets"
            " WHERE topic = $1 AND partition = 0",
            dead_letter_spec(projection).name,
        )
    except asyncpg.UndefinedTableError:
        return 0  # no read model yet: nothing re-driven
    return int(stored or 0)


async def collect(
    projections: list[Projection], pool: asyncpg.Pool, bootstrap_servers: str
) -> list[DeadLetter]:
    """Every dead letter of `projections`, oldest first; a missing topic holds none."""
    topics = {dead_letter_spec(p).name: p for p in projections}
    async with admin_client(bootstrap_servers) as admin:
        existing = await partitions_of(admin, topics)
    found: list[DeadLetter] = []
    async with plain_consumer(bootstrap_servers) as consumer:
        for topic in existing:
            projection = topics[topic]
            below = await redriven_below(pool, projection)
            for record in await read_from(consumer, TopicPartition(topic, 0)):
                found.append(dead_letter(projection.name, record, below))
    return found


@app.command("list")
def list_command(
    projection: Annotated[
        list[str] | None,
        typer.Option(
            "--projection", "-p", metavar="NAME", help="only these (repeatable) [default: all]"
        ),
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="also the dead letters already re-driven")
    ] = False,
    output: Annotated[Format, typer.Option("--format", help="how to print them")] = Format.table,
    database_url: DatabaseUrl = None,
    bootstrap_servers: BootstrapServers = None,
    namespace: Namespace = None,
) -> None:
    """List dead letters still waiting for a re-drive: where each came from, its stream and
    version, and the error."""
    config = settings(database_url, bootstrap_servers, namespace)

    async def work() -> list[DeadLetter]:
        projections = chosen(projection or [ALL], config.topic_namespace)
        async with database(config) as pool:
            return await collect(projections, pool, config.kafka_bootstrap_servers)

    letters = [d for d in run("dlq list", work) if everything or not d.redriven]
    if output is Format.json:
        typer.echo(json.dumps([asdict(d) for d in letters], indent=2))
        return
    if not letters:
        typer.echo("no dead letters", err=True)
        return
    table = Table("projection", "offset", "from", "stream", "version", "type", "error", "failed")
    for d in letters:
        state = " (re-driven)" if d.redriven else ""
        table.add_row(
            d.projection + state, str(d.offset), d.origin, d.stream_id, d.stream_version,
            d.event_type, d.error[:120], d.failed_at[:19],
        )  # fmt: skip
    Console().print(table)


@app.command("redrive")
def redrive_command(
    names: Annotated[
        list[str],
        typer.Argument(metavar="PROJECTION", help="projection names, or `all`"),
    ],
    database_url: DatabaseUrl = None,
    bootstrap_servers: BootstrapServers = None,
    namespace: Namespace = None,
) -> None:
    """Apply a projection's dead letters again, in order, stopping at one that still fails.
    Exit 1 when one still fails."""
    config = settings(database_url, bootstrap_servers, namespace)

    async def work() -> bool:
        projections = chosen(names, config.topic_namespace)
        clean = True
        async with database(config) as pool:
            for projection in projections:
                with progress_bar(f"re-driving {projection.name}") as advance:
                    report = await redrive_projection(
                        projection, pool, config.kafka_bootstrap_servers, progress=advance
                    )
                typer.echo(
                    f"{projection.name}: applied {report.applied}, duplicates"
                    f" {report.duplicates}, unreadable {report.unreadable}"
                )
                for failure in report.still_failing:
                    typer.echo(f"{projection.name}: still failing: {failure}", err=True)
                clean = clean and not report.still_failing
        return clean

    if not run("dlq redrive", work):
        raise typer.Exit(1)
