"""`kinerja verify`: every hash chain of the stores and topics (the kit's check, all four
services by default), or the chains inside an audit export file."""

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.cli.audit_file import EVENT, EXPORT, HEAD, Record, envelope_of, read
from shared.cli.common import SERVICES, BootstrapServers, DatabaseUrl, Namespace, progress_bar
from shared.store.migrations import quote_identifier
from shared.verification import Audit, Break, Kind, StreamChain, head_breaks
from shared.verification.cli import BROKEN, CLEAN, line, summary
from shared.verification.cli import verify as verify_chains
from shared.verification.report import UNKNOWN_STREAM

StreamKey = tuple[str, str]  # (source, stream id): stream ids are unique within a store


class ExportWalk:
    """Follows every stream of an export file, keeping only each stream's newest link."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.chains: dict[StreamKey, StreamChain] = {}
        self.heads: dict[StreamKey, tuple[int, str]] = {}
        self.header: Record | None = None
        self.breaks: list[Break] = []
        self.events = 0

    def read(self, number: int, record: Record) -> None:
        where = f"{self.name} line {number}"
        kind = record.get("record")
        if kind == EXPORT and self.header is None:
            self.header = record
        elif kind == EVENT:
            self._event(where, record)
        elif kind == HEAD:
            try:
                key = (str(record["source"]), str(record["stream_id"]))
                self.heads[key] = (int(record["stream_version"]), str(record["hash"]))
            except (KeyError, ValueError):
                self._unreadable(where, record, "a head record without its stream, version or hash")
        else:
            self._unreadable(where, record, f"not a record of an export: {record.get('why', kind)}")

    def _event(self, where: str, record: Record) -> None:
        self.events += 1
        try:
            envelope = envelope_of(record)
        except ValueError as error:
            self._unreadable(where, record, f"not an event: {' '.join(str(error).split())[:200]}")
            return
        key = (envelope.source, envelope.stream_id)
        chain = self.chains.setdefault(key, StreamChain(envelope.stream_id))
        self.breaks += chain.follow(envelope, f"{where} ({envelope.source})")

    def _unreadable(self, where: str, record: Record, detail: str) -> None:
        stream = str(record.get("stream_id") or UNKNOWN_STREAM)
        version = _number(record.get("stream_version"))
        self.breaks.append(Break(where, stream, version, Kind.EDITED, detail))

    def finish(self) -> Audit:
        keys = sorted(self.chains.keys() | self.heads.keys())
        for source, stream_id in keys:
            chain = self.chains.get((source, stream_id))
            self.breaks += chain.finish() if chain else []
            version, last_hash = self.heads.get((source, stream_id), (None, None))
            for found in head_breaks(stream_id, chain.head if chain else None, version, last_hash):
                self.breaks.append(replace(found, where=f"{self.name} ({source})"))
        self._check_header(len(keys))
        return Audit(self.breaks, self.events, len(keys))

    def _check_header(self, streams: int) -> None:
        if self.header is None:
            detail = "no export record: not a kinerja export, or its first line is gone"
            self.breaks.append(Break(self.name, UNKNOWN_STREAM, None, Kind.MISSING, detail))
            return
        said = (self.header.get("events"), self.header.get("streams"))
        if said != (self.events, streams):
            detail = (
                f"the export record says {said[0]} events in {said[1]} streams, the file holds"
                f" {self.events} in {streams}"
            )
            self.breaks.append(Break(self.name, UNKNOWN_STREAM, None, Kind.MISSING, detail))


def _number(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def audit_export(path: Path, progress: Callable[[int, int], None] | None = None) -> Audit:
    """Every chain inside an export file, each stream against its exported head, and the
    counts against the export record."""
    walk = ExportWalk(path.name)
    for number, record in read(path):
        walk.read(number, record)
        if progress is not None and number % 1000 == 0:
            expected = walk.header.get("events", 0) if walk.header else 0
            progress(walk.events, int(expected or 0))
    if progress is not None:
        progress(walk.events, walk.events)
    return walk.finish()


def _service_names(names: list[str] | None) -> list[str]:
    for name in names or []:
        try:
            quote_identifier(name)  # a service's name is its store's schema
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
    return names or []


def verify(
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            metavar="NAME",
            help=f"a service to check (repeatable) [default: {', '.join(SERVICES)}]",
            callback=_service_names,
            show_default=False,
        ),
    ] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="check the stores")] = True,
    topics: Annotated[
        bool, typer.Option("--topics/--no-topics", help="check the topics <namespace>.<service>.v1")
    ] = True,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="check the chains inside this export file instead (no database, no Kafka)",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    bootstrap_servers: BootstrapServers = None,
    namespace: Namespace = None,
) -> None:
    """Check that every event stream's sha256 chain is whole: nothing edited, deleted,
    reordered or forged. Exit 0: whole; 1: a break (each printed with its stream and
    version); 2: the check could not run."""
    if export is not None:
        with progress_bar(f"checking {export.name}") as advance:
            audit = audit_export(export, advance)
        for found in audit.breaks:
            typer.echo(line(found))
        typer.echo(f"export {export.name}: {summary(audit)}")
        raise typer.Exit(BROKEN if audit.breaks else CLEAN)
    verify_chains(
        service=service or list(SERVICES),
        database_url=database_url,
        bootstrap_servers=bootstrap_servers,
        store=store,
        topics=topics,
        namespace=namespace,
    )
