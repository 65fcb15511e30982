"""`kinerja import-roster`: the targets service's roster import, as it is, under the one
command."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from shared.cli.common import DatabaseUrl, fail, settings, where
from shared.verification.cli import COULD_NOT_RUN_ERRORS


def import_roster(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="the roster CSV: nip, name, position, unit_code, job_type"
            " [, supervisor_nip, supervisor_from]",
            show_default=False,
        ),
    ],
    actor: Annotated[str, typer.Option(help="who the events name as their actor")] = "admin:import",
    database_url: DatabaseUrl = None,
) -> None:
    """Register the roster's employees and their supervisors from a CSV file into the targets
    store. Units must exist. Bad rows are reported by line and the good ones kept; a second run
    of the same file records nothing. Exit 0: every row good; 1: some refused; 2: could not
    run."""
    # imported here: the service's code loads only for the command that needs it
    from services.targets.import_roster import main

    config = settings(database_url)
    # the import reads its database from the environment, as it does when run on its own
    with _environment("KINERJA_DATABASE_URL", str(config.database_url)):
        try:
            main(path, actor)
        except COULD_NOT_RUN_ERRORS as error:
            fail(f"import-roster: cannot use the database at {where(str(config.database_url))}:"
                 f" {error}")  # fmt: skip


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before
