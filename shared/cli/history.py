"""`kinerja history`: one pegawai as the record stood at a moment, reconstructed from the
events of every service's store."""

import json
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from shared.cli.common import SERVICES, CommandError, DatabaseUrl, database, fail, run, settings
from shared.cli.history_fold import PegawaiHistory
from shared.contracts.catalog import full_catalog
from shared.domain.nip import InvalidNip, check_nip
from shared.events.envelope import Envelope
from shared.events.registry import UnknownEventType
from shared.store.event_store import EVENT_COLUMNS, envelope_from_row
from shared.store.migrations import quote_identifier


class Format(StrEnum):
    json = "json"
    table = "table"


def moment(text: str | None, zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """The instant `--as-of` names: an ISO 8601 time (without an offset: in the agency's time
    zone), or a date, meaning the end of that day there; none: now."""
    if text is None:
        return now or datetime.now(UTC)
    try:
        if len(text) == len("YYYY-MM-DD"):
            day = date.fromisoformat(text) + timedelta(days=1)
            return datetime.combine(day, time.min, zone) - timedelta(microseconds=1)
        found = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--as-of {text!r} is not an ISO 8601 date or time (2026-04-06, 2026-04-06T09:30+07:00)"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=zone)


async def events_about(pool: asyncpg.Pool, nip: str) -> tuple[list[Envelope], list[str]]:
    """Every event whose subject is the NIP, store by store, each stream in its order; and the
    services that have no store in this database."""
    found: list[Envelope] = []
    missing = []
    for service in SERVICES:
        schema = quote_identifier(service)
        try:
            rows = await pool.fetch(
                f"SELECT {EVENT_COLUMNS} FROM {schema}.events WHERE subject = $1 AND stream_id IN"
                f" (SELECT stream_id FROM {schema}.streams WHERE subject = $1)"
                " ORDER BY stream_id, stream_version",
                nip,
            )
        except asyncpg.UndefinedTableError:
            missing.append(service)
            continue
        found += [envelope_from_row(row, service) for row in rows]
    return found, missing


def fold(nip: str, events: list[Envelope], as_of: datetime) -> PegawaiHistory:
    """The events recorded up to `as_of`, read in their current schema and folded."""
    catalog = full_catalog()
    history = PegawaiHistory(nip)
    for envelope in events:
        if envelope.recorded_at > as_of:
            continue
        try:
            event = envelope.decode(catalog)
        except (UnknownEventType, ValidationError) as error:
            history.unread(envelope, " ".join(str(error).split())[:200])
            continue
        history.apply(envelope, event)
    return history


def history(
    nip: Annotated[str, typer.Option("--nip", metavar="NIP", help="the pegawai's 18-digit NIP")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="TIME",
            help="ISO 8601 time or date (the end of that day) in the agency's time zone unless"
            " it has an offset [default: now]",
            show_default=False,
        ),
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="how to print it")] = Format.json,
    database_url: DatabaseUrl = None,
) -> None:
    """The SKPs (RHK, indicators, status), entries (with corrections and feedback), action
    plans, ratings, amendments, appeals and predikat per period of one pegawai, as they
    stood at a moment: every event recorded up to then, folded. Exit 2 for a NIP the record
    has never seen."""
    try:
        check_nip(nip)
    except InvalidNip as error:
        fail(f"history: --nip {nip}: {error}")
    config = settings(database_url)
    try:
        at = moment(as_of, ZoneInfo(config.time_zone))
    except ZoneInfoNotFoundError:
        fail(f"history: KINERJA_TIME_ZONE {config.time_zone!r} is not a time zone")
    except CommandError as error:
        fail(f"history: {error}")

    async def work() -> tuple[list[Envelope], list[str]]:
        async with database(config) as pool:
            return await events_about(pool, nip)

    events, missing = run("history", work)
    if missing:
        typer.echo(f"history: no event store for {', '.join(missing)} here", err=True)
    if not events:
        fail(f"history: the record holds no event about NIP {nip}")
    folded = fold(nip, events, at).as_json()
    later = sum(1 for e in events if e.recorded_at > at)
    answer = {"as_of": at.isoformat(), **folded, "events_recorded_later": later}
    if output is Format.json:
        typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        show(answer)


def show(answer: dict[str, Any]) -> None:
    console = Console()
    employee = answer["employee"] or {}
    console.print(
        f"[bold]{answer['nip']}[/] {employee.get('name', '(not registered)')}"
        f" {employee.get('unit_code', '')}, as of {answer['as_of']}"
        f" ({answer['events']} events; {answer['events_recorded_later']} recorded later)"
    )
    skps = Table("SKP", "year", "status", "version", "RHK", "indicators", title="SKP")
    for skp in answer["skps"]:
        indicators = sum(len(r["indicators"]) for r in skp["rhk"])
        skps.add_row(skp["skp_id"], str(skp["year"]), skp["status"], str(skp["version"]),
                     str(len(skp["rhk"])), str(indicators))  # fmt: skip
    entries = Table("entry", "date", "indicator", "realised", "corrections", "feedback",
                    title="entries")  # fmt: skip
    for entry in answer["entries"]:
        current = entry["current"]
        realised = current["realised_value"] if current["realised_value"] is not None else ""
        entries.add_row(entry["entry_id"], current["date"], entry["indicator_id"],
                        str(realised or current["realised_text"] or ""),
                        str(len(entry["corrections"])), str(len(entry["feedback"])))  # fmt: skip
    ratings = Table("year", "period", "predikat", "hasil kerja", "perilaku kerja", "ratings",
                    "appeal", title="evaluations")  # fmt: skip
    for evaluation in answer["evaluations"]:
        appeal = evaluation["appeal"]
        ratings.add_row(str(evaluation["year"]), evaluation["period"], evaluation["predikat"],
                        evaluation["hasil_kerja"], evaluation["perilaku_kerja"],
                        str(len(evaluation["ratings"])),
                        (appeal["outcome"] or "filed") if appeal else "")  # fmt: skip
    for table in (skps, entries, ratings):
        console.print(table)
