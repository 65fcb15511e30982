"""`kinerja`: the operator's and auditor's command line, one command per task.

\b
    kinerja token SUB [--role admin|auditor]      a development JWT (on the last line)
    kinerja import-roster FILE                    the roster CSV into the targets store
    kinerja replay PROJECTION...|all [--list]     rebuild read models, then switch over
    kinerja verify [--service S] [--export FILE]  every hash chain, or an export's
    kinerja history --nip N [--as-of TIME]        one pegawai as the record stood then
    kinerja export --year Y [--format jsonl|csv]  what an audit of a year needs, with hashes
    kinerja dlq list|redrive                      dead letters, and applying them again
    kinerja status                                services, lags, dead letters

Every command reads the KINERJA_* settings; its options override them.
"""

import typer

from shared.cli import dlq
from shared.cli.common import quiet_logs
from shared.cli.export import export
from shared.cli.history import history
from shared.cli.projections import replay
from shared.cli.roster import import_roster
from shared.cli.status import status
from shared.cli.tokens import token
from shared.cli.verify import verify

app = typer.Typer(
    name="kinerja",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


app.command()(token)
app.command("import-roster")(import_roster)
app.command()(replay)
app.command()(verify)
app.command()(history)
app.command()(export)
app.add_typer(dlq.app, name="dlq")
app.command()(status)


def main() -> None:
    """The `kinerja` program: its logs (warnings only) on stderr, its answers on stdout."""
    quiet_logs()
    app()
