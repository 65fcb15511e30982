"""The audit export's file: one record per line (JSON Lines) or per row (CSV), in three kinds.

- `export`, first: the year, when, what was selected, and how many streams and events follow;
- `event`: an envelope as stored, every field its hash covers plus the hash itself, so anyone
  can recompute each sha256 over RFC 8785 canonical JSON and follow `previous_hash`;
- `head`: after a stream's events, the head the store recorded for it (version, last hash),
  so a stream cut short at its end shows.

CSV has one column per field; `payload` (and the `export` record's details) is JSON text,
and an empty `causation_id` is null.
"""

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson

from shared.events.envelope import ENVELOPE, Envelope

EXPORT, EVENT, HEAD, UNREADABLE = "export", "event", "head", "unreadable"
FORMAT_VERSION = 1
COLUMNS = (
    "record", "source", "stream_id", "stream_version", "event_id", "event_type",
    "schema_version", "subject", "occurred_at", "recorded_at", "actor", "correlation_id",
    "causation_id", "previous_hash", "hash", "payload",
)  # fmt: skip
Record = dict[str, Any]


def event_record(envelope: Envelope) -> Record:
    return {"record": EVENT, **envelope.hash_content(), "hash": envelope.hash}


def head_record(source: str, stream_id: str, version: int, last_hash: str) -> Record:
    return {
        "record": HEAD, "source": source, "stream_id": stream_id, "stream_version": version,
        "hash": last_hash,
    }  # fmt: skip


def envelope_of(record: Record) -> Envelope:
    """The envelope an `event` record carries (ValueError if it is not one)."""
    fields = {name: record.get(name) for name in ENVELOPE_FIELDS}
    return ENVELOPE.validate_python(fields)


ENVELOPE_FIELDS = (
    "event_id", "event_type", "schema_version", "source", "stream_id", "stream_version",
    "subject", "occurred_at", "recorded_at", "actor", "correlation_id", "causation_id",
    "previous_hash", "hash", "payload",
)  # fmt: skip


class Writer(Protocol):
    def write(self, record: Record) -> None: ...


class JsonLines:
    def __init__(self, out: io.TextIOBase | Any) -> None:
        self.out = out

    def write(self, record: Record) -> None:
        self.out.write(orjson.dumps(record).decode() + "\n")


class Csv:
    def __init__(self, out: io.TextIOBase | Any) -> None:
        self.rows = csv.writer(out, lineterminator="\n")
        self.rows.writerow(COLUMNS)

    def write(self, record: Record) -> None:
        if record["record"] == EXPORT:
            details = {k: v for k, v in record.items() if k != "record"}
            cells = {"record": EXPORT, "payload": orjson.dumps(details).decode()}
        else:
            cells = dict(record)
            if "payload" in record:
                cells["payload"] = orjson.dumps(record["payload"]).decode()
        self.rows.writerow(["" if cells.get(c) is None else cells[c] for c in COLUMNS])


def read(path: Path) -> Iterator[tuple[int, Record]]:
    """Each record of an export file with its line number, JSON Lines or CSV as the first
    character says. A line that cannot be read is a record of kind `unreadable`."""
    with path.open(encoding="utf-8", newline="") as file:
        first = file.read(1)
        file.seek(0)
        if first == "{":
            for number, line in enumerate(file, start=1):
                if line.strip():
                    yield number, _parsed(_json_record, line)
        else:
            rows = csv.DictReader(file)
            for row in rows:
                yield rows.line_num, _parsed(_from_csv, row)


def _parsed(parse: Callable[[Any], Record], raw: Any) -> Record:
    try:
        return parse(raw)
    except ValueError as error:
        return {"record": UNREADABLE, "why": " ".join(str(error).split())[:200]}


def _json_record(line: str) -> Record:
    try:
        found = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(found, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 - a bad line, as bad JSON is
    return found


def _from_csv(row: dict[str, str]) -> Record:
    kind = row.get("record", "")
    if kind == EXPORT:
        return {"record": EXPORT, **orjson.loads(row.get("payload") or "{}")}
    record: Record = {k: v for k, v in row.items() if k in COLUMNS and v != "" and k != "payload"}
    for number in ("stream_version", "schema_version"):
        if record.get(number, "").isdigit():
            record[number] = int(record[number])
    if kind == EVENT:
        record["payload"] = orjson.loads(row.get("payload") or "null")
        record.setdefault("causation_id", None)
    return record
