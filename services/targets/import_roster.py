"""Import a roster CSV into the targets store:

    python -m services.targets.import_roster roster.csv

Bad rows are reported by line and the good ones kept; running it again records nothing.
Exit code 0 when every row was good, 1 when some were refused, 2 when it could not run.
"""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress

from services.targets.entrypoints.app import SERVICE
from services.targets.entrypoints.roster_import import ImportReport, import_roster, read_rows
from shared.config import KinerjaSettings
from shared.contracts.catalog import full_catalog
from shared.store.db import create_pool
from shared.store.event_store import CommandContext, EventStore
from shared.store.repository import Repository


async def run(path: Path, actor: str) -> ImportReport:
    report = ImportReport()
    rows = read_rows(path, report)
    pool = await create_pool(str(KinerjaSettings().database_url), max_size=2)
    try:
        store = EventStore(pool, SERVICE)
        await store.migrate()
        context = CommandContext(actor, f"import:{path.name}", datetime.now(UTC))
        with Progress("writing", BarColumn(), MofNCompleteColumn()) as bar:
            task = bar.add_task("writing", total=None)
            await import_roster(
                Repository(store, full_catalog()), rows, context, report,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )  # fmt: skip
    finally:
        await pool.close()
    return report


def main(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the roster CSV")],
    actor: Annotated[str, typer.Option(help="who the events name as their actor")] = "admin:import",
) -> None:
    """Register the roster's employees and their supervisors from a CSV file."""
    try:
        report = asyncio.run(run(path, actor))
    except (OSError, ValueError) as error:
        typer.echo(f"import-roster: {error}", err=True)
        raise typer.Exit(2) from error
    for line, reason in sorted(report.bad):
        typer.echo(f"line {line}: {reason}", err=True)
    typer.echo(
        f"registered {report.registered}, supervisors assigned {report.assigned}, "
        f"already there {report.unchanged}, refused {len(report.bad)}"
    )
    raise typer.Exit(1 if report.bad else 0)


if __name__ == "__main__":
    typer.run(main)
