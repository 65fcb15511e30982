"""The audit export's file, JSON Lines or CSV: what it carries lets anyone re-check every
hash chain, and `verify --export` finds each edit, cut and loss in it."""

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.cli.audit_file import EXPORT, Csv, JsonLines, Writer, event_record, head_record, read
from shared.cli.verify import audit_export
from shared.contracts.journal import EntryCorrected, EntryRecorded, Evidence
from shared.contracts.targets import Approach, SkpApproved, SkpDrafted, SkpSubmitted
from shared.verification import Kind
from tests.unit.cli.chains import ANDI, KEPALA, Record, at

SKP = f"{ANDI}-2026"
PROOF = Evidence(uri="s3://bkd/l.pdf", sha256="ab" * 32)
WRITERS: dict[str, Callable[[Any], Writer]] = {"jsonl": JsonLines, "csv": Csv}


@pytest.fixture
def record() -> Record:
    r = Record()
    r.add(
        "targets",
        f"skp-{SKP}",
        at(1, 5),
        SkpDrafted(skp_id=SKP, nip=ANDI, year=2026, approach=Approach.KUANTITATIF),
        SkpSubmitted(skp_id=SKP, version=1),
        SkpApproved(skp_id=SKP, version=1, approved_by=KEPALA),
    )
    r.add("journal", "entry-e1", at(2, 10),
          EntryRecorded(entry_id="e1", nip=ANDI, skp_id=SKP, rhk_id="rhk-1", indicator_id="iki-1",
                        date=date(2026, 2, 10), description="Laporan \"bulanan\", ke-1",
                        realised_value=2.5, realised_text=None, evidence=[PROOF]),
          EntryCorrected(entry_id="e1", date=date(2026, 2, 10), description="Laporan",
                         realised_value=0.1, realised_text="ß ✓", evidence=[PROOF]))  # fmt: skip
    return r


def records(record: Record) -> list[dict[str, Any]]:
    """What `kinerja export` writes for these streams: the export record, then each stream's
    events and its head."""
    lines: list[dict[str, Any]] = [
        {"record": EXPORT, "format": 1, "year": 2026, "streams": 2, "events": 5}
    ]
    for stream, (version, last_hash) in record.heads.items():
        events = [e for e in record.envelopes if e.stream_id == stream]
        lines += [event_record(e) for e in events]
        lines.append(head_record(events[0].source, stream, version, last_hash))
    return lines


def written(path: Path, kind: str, lines: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer: Writer = WRITERS[kind](out)
        for line in lines:
            writer.write(line)
    return path


@pytest.fixture(params=["jsonl", "csv"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_an_untouched_export_verifies_in_either_format(
    record: Record, kind: str, tmp_path: Path
) -> None:
    path = written(tmp_path / f"2026.{kind}", kind, records(record))

    audit = audit_export(path)

    assert (audit.breaks, audit.events, audit.streams) == ([], 5, 2)
    read_back = [r for _, r in read(path) if r["record"] == "event"]
    assert read_back == [event_record(e) for e in record.envelopes]


def test_an_edited_payload_is_found_at_its_stream_and_version(
    record: Record, kind: str, tmp_path: Path
) -> None:
    lines = records(record)
    lines[6] = {**lines[6], "payload": {**lines[6]["payload"], "realised_value": 9}}
    path = written(tmp_path / f"2026.{kind}", kind, lines)

    [found] = audit_export(path).breaks

    assert (found.stream_id, found.version, found.kind) == ("entry-e1", 2, Kind.EDITED)
    line = 7 if kind == "jsonl" else 8  # a CSV's first line names the columns
    assert found.where == f"2026.{kind} line {line} (journal)"


def test_a_stream_cut_short_at_its_end_disagrees_with_its_head(
    record: Record, tmp_path: Path
) -> None:
    lines = records(record)
    del lines[3]  # the SKP's approval, its last event
    path = written(tmp_path / "2026.jsonl", "jsonl", lines)

    breaks = audit_export(path).breaks

    assert (breaks[0].stream_id, breaks[0].version, breaks[0].kind) == (
        f"skp-{SKP}", 3, Kind.MISSING
    )  # fmt: skip
    assert "the export record says 5 events in 2 streams, the file holds 4" in breaks[-1].detail


def test_an_event_taken_from_the_middle_breaks_the_chain(record: Record, tmp_path: Path) -> None:
    lines = records(record)
    del lines[2]
    path = written(tmp_path / "2026.jsonl", "jsonl", lines)

    found = audit_export(path).breaks[0]

    assert (found.stream_id, found.version, found.kind) == (f"skp-{SKP}", 2, Kind.MISSING)


def test_a_whole_stream_gone_shows_in_the_counts_of_the_export_record(
    record: Record, tmp_path: Path
) -> None:
    path = written(tmp_path / "2026.jsonl", "jsonl", records(record)[:5])

    [found] = audit_export(path).breaks

    assert found.kind == Kind.MISSING
    assert "says 5 events in 2 streams, the file holds 3 in 1" in found.detail


def test_a_line_that_is_not_json_is_a_break_and_the_rest_is_still_checked(
    record: Record, tmp_path: Path
) -> None:
    path = written(tmp_path / "2026.jsonl", "jsonl", records(record))
    text = path.read_text().splitlines()
    text[1] = text[1][:40]
    path.write_text("\n".join(text) + "\n")

    breaks = audit_export(path).breaks

    assert breaks[0].where == "2026.jsonl line 2"
    assert "not a record of an export" in breaks[0].detail
    assert {b.stream_id for b in breaks} >= {f"skp-{SKP}"}


def test_the_csv_keeps_null_and_json_text_as_the_hash_covered_them(
    record: Record, tmp_path: Path
) -> None:
    path = written(tmp_path / "2026.csv", "csv", records(record))

    [_, first, *_] = [r for _, r in read(path)]

    assert first["causation_id"] is None
    assert first["payload"] == orjson.loads(orjson.dumps(record.envelopes[0].payload))
