"""Import an agency's roster from CSV: every good row kept, every bad row reported by line,
and a second run of the same file records nothing.

Columns: nip, name, position, unit_code, job_type, and optionally supervisor_nip with
supervisor_from (YYYY-MM-DD). Units must exist. Rows go through the same aggregates as the
API, and are written with the store's bulk path.
"""

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from services.targets.domain.roster import Employee, Unit
from services.targets.entrypoints.schemas import NewEmployee
from shared.domain.errors import DomainError
from shared.store.event_store import CommandContext, StreamAppend
from shared.store.repository import Repository

REQUIRED = ("nip", "name", "position", "unit_code", "job_type")
CHUNK = 2000


@dataclass(frozen=True)
class Row:
    line: int
    employee: NewEmployee
    supervisor_nip: str | None
    supervisor_from: date | None


@dataclass
class ImportReport:
    registered: int = 0
    assigned: int = 0
    unchanged: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


Progress = Callable[[int, int], None]


def read_rows(path: Path, report: ImportReport) -> list[Row]:
    """Parse and validate each line; a bad one goes to the report with its line number."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        rows = []
        for record in reader:
            line = reader.line_num
            try:
                rows.append(_row(line, record))
            except (ValidationError, ValueError) as error:
                report.bad.append((line, _reason(error)))
    return rows


def _row(line: int, record: dict[str, str]) -> Row:
    employee = NewEmployee.model_validate({c: record.get(c, "") for c in REQUIRED})
    supervisor = (record.get("supervisor_nip") or "").strip() or None
    since = (record.get("supervisor_from") or "").strip()
    if supervisor and not since:
        raise ValueError("supervisor_from: give the date the supervisor takes over")
    return Row(line, employee, supervisor, date.fromisoformat(since) if supervisor else None)


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    return str(error)


async def import_roster(
    repository: Repository,
    rows: list[Row],
    context: CommandContext,
    report: ImportReport,
    progress: Progress | None = None,
) -> ImportReport:
    """Register who is new, then assign supervisors; all through the roster aggregates."""
    nips = sorted(
        {r.employee.nip for r in rows} | {r.supervisor_nip for r in rows if r.supervisor_nip}
    )
    employees = await repository.load_many(Employee, nips)
    units = await repository.load_many(Unit, sorted({r.employee.unit_code for r in rows}))
    for row in rows:
        _register(row, employees[row.employee.nip], units[row.employee.unit_code], report)
    refused = {line for line, _ in report.bad}
    for row in rows:
        if row.supervisor_nip and row.supervisor_from and row.line not in refused:
            _assign(row, employees, report)
    await _write(repository, employees.values(), context, progress)
    return report


def _register(row: Row, employee: Employee, unit: Unit, report: ImportReport) -> None:
    e = row.employee
    if employee.exists:
        report.unchanged += 1
        return
    try:
        employee.register(e.name, e.position, unit, e.job_type)
        report.registered += 1
    except DomainError as error:
        report.bad.append((row.line, str(error)))


def _assign(row: Row, employees: dict[str, Employee], report: ImportReport) -> None:
    employee = employees[row.employee.nip]
    before = len(employee.pending)
    try:
        employee.assign_supervisor(
            employees[row.supervisor_nip or ""], row.supervisor_from or date.min
        )
    except DomainError as error:
        report.bad.append((row.line, str(error)))
        return
    report.assigned += len(employee.pending) - before


async def _write(
    repository: Repository,
    employees: Iterable[Employee],
    context: CommandContext,
    progress: Progress | None,
) -> None:
    changed = [e for e in employees if e.pending]
    chunks = [changed[start : start + CHUNK] for start in range(0, len(changed), CHUNK)]
    done = iter(range(CHUNK, len(changed) + CHUNK, CHUNK))  # employees written, chunk by chunk

    def committed(_events: int) -> None:
        if progress:
            progress(min(next(done), len(changed)), len(changed))

    # the store writes one chunk while it hashes the next, each chunk its own transaction
    await repository.store.append_batches(
        (
            [
                StreamAppend(
                    Employee.stream_id(e.identity), e.loaded_version, e.identity, list(e.pending)
                )
                for e in chunk
            ]
            for chunk in chunks
        ),
        context=context,
        progress=committed,
    )
    for employee in changed:
        employee.pending.clear()
