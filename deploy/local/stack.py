"""The local stack: a real Kafka broker and a private PostgreSQL cluster, no Docker needed.

python -m deploy.local.stack up | down | status | install | env
"""

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer

from deploy.local.debian import ensure_packages
from deploy.local.kafka import LocalKafka
from deploy.local.postgres import LocalPostgres
from deploy.local.processes import StackError
from deploy.local.settings import StackSettings


@dataclass(frozen=True)
class Addresses:
    kafka_bootstrap_servers: str
    database_url: str

    def exports(self) -> str:
        return (
            f"export KINERJA_KAFKA_BOOTSTRAP_SERVERS={self.kafka_bootstrap_servers}\n"
            f"export KINERJA_DATABASE_URL={self.database_url}"
        )


class Stack:
    def __init__(self, settings: StackSettings | None = None) -> None:
        self.settings = settings or StackSettings()
        self.kafka = LocalKafka(self.settings)
        self.postgres = LocalPostgres(self.settings)

    @property
    def addresses(self) -> Addresses:
        return Addresses(self.kafka.address, self.postgres.address)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One `up` or `down` at a time, even from parallel test sessions."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        with (self.settings.home / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def install(self) -> None:
        with self._locked():
            ensure_packages(self.settings)
            self.kafka.install()

    def up(self) -> dict[str, str]:
        with self._locked():
            ensure_packages(self.settings)
            states = {"postgres": self.postgres.up()}
            try:
                states["kafka"] = self.kafka.up()
            except StackError:
                self.postgres.down()
                raise
            return states

    def down(self) -> None:
        with self._locked():
            self.kafka.down()
            self.postgres.down()

    def is_up(self) -> bool:
        return (
            self.postgres.running() and self.kafka.running_pid() is not None and self.kafka.ready()
        )


app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)


@app.command()
def install() -> None:
    """Install PostgreSQL if missing and fetch the Kafka jars (idempotent; quick when present)."""
    Stack().install()
    typer.echo("stack: installed")


@app.command()
def up() -> None:
    """Start PostgreSQL and Kafka (harmless when already running) and print their addresses."""
    stack = Stack()
    started = time.monotonic()
    try:
        states = stack.up()
    except StackError as error:
        typer.echo(f"stack: failed to start: {error}", err=True)
        raise typer.Exit(1) from error
    for part, state in states.items():
        typer.echo(f"stack: {part} {state}")
    typer.echo(f"stack: up in {time.monotonic() - started:.1f}s\n{stack.addresses.exports()}")


@app.command()
def down() -> None:
    """Stop Kafka and PostgreSQL; no process of the stack is left behind."""
    Stack().down()
    typer.echo("stack: down")


@app.command()
def status() -> None:
    """Show what runs, the versions, the logs and the variables to export."""
    stack = Stack()
    kafka_pid = stack.kafka.running_pid()
    kafka_state = "running" if kafka_pid and stack.kafka.ready() else "stopped"
    pg_state = "running" if stack.postgres.running() else "stopped"
    typer.echo(f"kafka     {kafka_state:8} Apache Kafka {stack.kafka.version()} (KRaft)")
    typer.echo(f"postgres  {pg_state:8} {stack.postgres.version()}")
    typer.echo(f"logs      {stack.settings.logs}")
    typer.echo(stack.addresses.exports())
    if kafka_state != "running" or pg_state != "running":
        raise typer.Exit(3)


@app.command()
def env() -> None:
    """Print only the export lines, for `eval "$(python -m deploy.local.stack env)"`."""
    typer.echo(Stack().addresses.exports())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
