"""What every `kinerja` command shares: the settings with options that override them, what
stops a command said in one line with exit code 2, and progress on stderr."""

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import asyncpg
import structlog
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from shared.config import KinerjaSettings
from shared.store.db import create_pool
from shared.verification.cli import CONNECT_SECONDS, COULD_NOT_RUN_ERRORS

COULD_NOT_RUN = 2
SERVICES = ("targets", "journal", "appraisal", "notify")
T = TypeVar("T")
OnProgress = Callable[[int, int], None]  # (done, of)

stderr = Console(stderr=True)


class CommandError(Exception):
    """A bad argument, or something the command needs that is not there: one line, exit 2."""


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", metavar="URL", help="PostgreSQL DSN [default: $KINERJA_DATABASE_URL]"
    ),
]
BootstrapServers = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        metavar="HOST:PORT",
        help="Kafka brokers [default: $KINERJA_KAFKA_BOOTSTRAP_SERVERS]",
    ),
]
Namespace = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        metavar="NAME",
        help="first part of every topic name [default: $KINERJA_TOPIC_NAMESPACE]",
    ),
]


def settings(
    database_url: str | None = None,
    bootstrap_servers: str | None = None,
    namespace: str | None = None,
) -> KinerjaSettings:
    """The `KINERJA_*` settings, with what the options gave in their place; bad ones are one
    line and exit 2."""
    given: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap_servers,
        "topic_namespace": namespace,
    }
    try:
        return KinerjaSettings(**{name: value for name, value in given.items() if value})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        fail(f"kinerja: bad settings: {problems}")


def fail(message: str) -> NoReturn:
    typer.echo(message.splitlines()[0] if message else "failed", err=True)
    raise typer.Exit(COULD_NOT_RUN)


def run(name: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`work()` on an event loop; whatever stops it before it can answer is one line on stderr
    and exit code 2, never a traceback."""
    try:
        return asyncio.run(work())
    except CommandError as error:
        fail(f"{name}: {error}")
    except COULD_NOT_RUN_ERRORS as error:
        fail(f"{name}: could not run: {_said(error)}")
    except LookupError as error:  # a topic or a projection that is not there
        if isinstance(error, KeyError | IndexError):
            raise  # a bug, whose traceback helps
        fail(f"{name}: {_said(error)}")
    except KeyboardInterrupt:
        fail(f"{name}: interrupted")


def _said(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def where(database_url: str) -> str:
    """A DSN without its password, for messages."""
    parts = urlsplit(database_url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


@asynccontextmanager
async def database(config: KinerjaSettings, max_size: int = 4) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the configured database; CommandError naming it when it cannot be reached."""
    url = str(config.database_url)
    try:
        pool = await asyncio.wait_for(create_pool(url, max_size=max_size), CONNECT_SECONDS * 2)
    except COULD_NOT_RUN_ERRORS as error:
        raise CommandError(f"cannot reach the database at {where(url)}: {_said(error)}") from None
    try:
        yield pool
    finally:
        await pool.close()


@contextmanager
def progress_bar(description: str) -> Iterator[OnProgress]:
    """A bar on stderr (stdout stays the command's answer); call it with (done, of)."""
    display = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
    )
    with display:
        task = display.add_task(description, total=None)
        yield lambda done, of: display.update(task, completed=done, total=max(of, done))


def quiet_logs() -> None:
    """Warnings only, on stderr: a command's stdout is its answer. For the program alone: a
    test or an embedding program keeps its own logging."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # each command says it in one line
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
