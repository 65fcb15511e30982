"""`kinerja export`: everything an audit of one year needs, every event with its envelope and
hash, in whole streams so each chain can be checked from its first link."""

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from shared.cli.audit_file import (
    EXPORT,
    FORMAT_VERSION,
    Csv,
    JsonLines,
    Writer,
    event_record,
    head_record,
)
from shared.cli.common import SERVICES, DatabaseUrl, database, progress_bar, run, settings
from shared.contracts.targets import (
    EmployeeRegistered,
    SupervisorAssigned,
    UnitCreated,
    UnitHeadAppointed,
)
from shared.store.db import Connection
from shared.store.event_store import EVENT_COLUMNS, envelope_from_row
from shared.store.migrations import quote_identifier

BATCH = 2000
ROSTER = [e.type_name for e in (UnitCreated, UnitHeadAppointed, EmployeeRegistered,
                                SupervisorAssigned)]  # fmt: skip
SELECTION = (
    "whole streams, from version 1 and with their recorded head: every stream with an event"
    " whose payload year is the year (the performance year, SKPs, evaluations, organisation"
    " predicates, distribution judgements, reminders); every stream with an event naming an"
    " SKP of the year (entries with their corrections and feedback, action plans); and the"
    " roster streams (units, their heads, employees and their supervisors)"
)


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


WRITERS: dict[Format, Callable[[Any], Writer]] = {Format.jsonl: JsonLines, Format.csv: Csv}


async def stores(db: Connection) -> list[str]:
    """The services with an event store in this database."""
    return [
        s for s in SERVICES if await db.fetchval("SELECT to_regclass($1)", f"{s}.events")
    ]  # fmt: skip


async def selected(db: Connection, services: list[str], year: int) -> dict[str, list[str]]:
    """The streams of each store that belong to the year's audit (see SELECTION)."""
    skps: set[str] = set()
    for service in services:
        rows = await db.fetch(
            f"SELECT DISTINCT payload->>'skp_id' FROM {quote_identifier(service)}.events"
            " WHERE payload->>'year' = $1 AND payload->>'skp_id' IS NOT NULL",
            str(year),
        )
        skps |= {row[0] for row in rows}
    return {
        service: [
            row[0]
            for row in await db.fetch(
                f"SELECT DISTINCT stream_id FROM {quote_identifier(service)}.events"
                " WHERE payload->>'year' = $1 OR payload->>'skp_id' = ANY($2::text[])"
                " OR event_type = ANY($3::text[]) ORDER BY stream_id",
                str(year),
                sorted(skps),
                ROSTER,
            )
        ]
        for service in services
    }


async def write_year(
    db: Connection, year: int, writer: Writer, progress: Callable[[int, int], None]
) -> tuple[int, int, list[str]]:
    """The year's records into `writer`, in one snapshot: (streams, events) written and the
    services whose stores were there. Run it in a repeatable-read transaction."""
    services = await stores(db)
    streams = await selected(db, services, year)
    counts = {
        service: await db.fetchval(
            f"SELECT count(*) FROM {quote_identifier(service)}.events"
            " WHERE stream_id = ANY($1::text[])",
            ids,
        )
        for service, ids in streams.items()
    }
    total = sum(counts.values())
    writer.write({
        "record": EXPORT, "format": FORMAT_VERSION, "year": year,
        "exported_at": datetime.now(UTC).isoformat(), "services": services,
        "selection": SELECTION, "streams": sum(map(len, streams.values())), "events": total,
    })  # fmt: skip
    done = 0
    for service, ids in streams.items():
        done = await _write_store(db, service, ids, writer, lambda n: progress(n, total), done)
    return sum(map(len, streams.values())), done, services


async def _write_store(
    db: Connection,
    service: str,
    ids: list[str],
    writer: Writer,
    progress: Callable[[int], None],
    done: int,
) -> int:
    schema = quote_identifier(service)
    heads = {
        row["stream_id"]: row
        for row in await db.fetch(
            f"SELECT stream_id, version, last_hash FROM {schema}.streams"
            " WHERE stream_id = ANY($1::text[])",
            ids,
        )
    }

    def close(stream_id: str | None) -> None:
        head = heads.get(stream_id or "")
        if head is not None:  # a stream without a head is written without: verify says so
            writer.write(
                head_record(service, head["stream_id"], head["version"], head["last_hash"])
            )

    cursor = await db.cursor(
        f"SELECT {EVENT_COLUMNS} FROM {schema}.events WHERE stream_id = ANY($1::text[])"
        " ORDER BY stream_id, stream_version",
        ids,
    )
    current: str | None = None
    while rows := await cursor.fetch(BATCH):
        for row in rows:
            if row["stream_id"] != current:
                close(current)
                current = row["stream_id"]
            writer.write(event_record(envelope_from_row(row, service)))
        done += len(rows)
        progress(done)
    close(current)
    return done


def export(
    year: Annotated[int, typer.Option(min=1900, max=2999, help="the performance year")],
    output_format: Annotated[Format, typer.Option("--format", help="JSON Lines or CSV")] = (
        Format.jsonl
    ),
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="write here [default: stdout]",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export every event of the four stores an audit of YEAR needs, each with its envelope
    (event id, stream, version, times, actor, correlation and causation, previous hash and
    hash) and each stream's recorded head, in one consistent snapshot. Selected: whole
    streams with an event of the year's payload (performance year, SKPs, evaluations,
    organisation predicates, distribution, reminders), streams naming an SKP of the year
    (entries with their corrections and feedback, action plans), and the roster. Check it
    with `kinerja verify --export FILE`."""
    config = settings(database_url)
    partial = output.with_name(output.name + ".partial") if output else None

    async def work() -> tuple[int, int, list[str]]:
        async with database(config, max_size=1) as pool, pool.acquire() as db:
            with _opened(partial) as out, progress_bar(f"exporting {year}") as advance:
                async with db.transaction(isolation="repeatable_read", readonly=True):
                    return await write_year(db, year, WRITERS[output_format](out), advance)

    try:
        streams, events, services = run("export", work)
    except BaseException:  # a half-written file must never pass for an export
        if partial:
            partial.unlink(missing_ok=True)
        raise
    if partial and output:
        partial.replace(output)
    where = output or "stdout"
    if missing := [s for s in SERVICES if s not in services]:
        typer.echo(f"export: no event store for {', '.join(missing)} here", err=True)
    typer.echo(f"exported {events} events in {streams} streams of {year} to {where}", err=True)


def _opened(path: Path | None) -> AbstractContextManager[TextIO]:
    if path is None:
        return nullcontext(sys.stdout)
    return path.open("w", encoding="utf-8", newline="")
