"""`python -m shared.verify`: walk services' stores and topics and print every break.

Exit 0: every chain is whole. 1: at least one break. 2: the check could not run, which says
nothing about the chains.
"""

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Annotated
from urllib.parse import urlsplit

import asyncpg
import typer
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from shared.config import KinerjaSettings
from shared.relay.topics import service_topic
from shared.store.migrations import quote_identifier
from shared.verification.report import Audit, Break, VerificationUnavailable
from shared.verification.store import audit_store
from shared.verification.topic import audit_topic

CLEAN, BROKEN, COULD_NOT_RUN = 0, 1, 2
CONNECT_SECONDS = 10.0
# what stops a check before it can judge anything: reported as such, not as a traceback
COULD_NOT_RUN_ERRORS = (
    VerificationUnavailable,
    ValidationError,
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    KafkaError,
)

OnProgress = Callable[[int], None]
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@dataclass(frozen=True)
class Source:
    """One store or topic to walk."""

    label: str
    audit: Callable[[OnProgress], Awaitable[Audit]]


@app.command()
def verify(
    service: Annotated[
        list[str],
        typer.Option(
            "--service",
            metavar="NAME",
            help="service to check; repeatable",
            callback=lambda names: [_service_name(name) for name in names],
        ),
    ],
    database_url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="PostgreSQL DSN (default: $KINERJA_DATABASE_URL)"),
    ] = None,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            metavar="HOST:PORT", help="Kafka brokers (default: $KINERJA_KAFKA_BOOTSTRAP_SERVERS)"
        ),
    ] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="check the store")] = True,
    topics: Annotated[bool, typer.Option("--topics/--no-topics", help="check the topic")] = True,
    namespace: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="topic namespace (default: $KINERJA_TOPIC_NAMESPACE)"),
    ] = None,
) -> None:
    """Check that every event stream's sha256 chain is whole, in the store and on its topic."""
    # aiokafka logs each failed connection; the one-line reason below says it once
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if not (store or topics):
        raise typer.BadParameter("nothing to check: --no-store and --no-topics together")
    audits = _walk_or_exit(
        lambda: _sources(
            service, (database_url, bootstrap_servers, namespace), store=store, topics=topics
        )
    )
    total = Audit(
        [b for audit in audits for b in audit.breaks],
        sum(audit.events for audit in audits),
        sum(audit.streams for audit in audits),
    )
    typer.echo(summary(total))
    raise typer.Exit(BROKEN if total.breaks else CLEAN)


def _service_name(name: str) -> str:
    try:
        quote_identifier(name)  # the service is also its store's schema
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return name


def _sources(
    services: list[str],
    where: tuple[str | None, str | None, str | None],
    *,
    store: bool,
    topics: bool,
) -> list[Source]:
    """`where`: the database, the brokers and the topic namespace, each from the settings
    when not given."""
    defaults = ("", "", "")
    if None in where:
        settings = KinerjaSettings()
        defaults = (
            str(settings.database_url),
            settings.kafka_bootstrap_servers,
            settings.topic_namespace,
        )
    database_url, bootstrap_servers, namespace = (
        given or default for given, default in zip(where, defaults, strict=True)
    )
    sources = []
    for service in services:
        if store:
            sources.append(Source(f"store {service}", partial(_store, database_url, service)))
        if topics:
            topic = service_topic(service, namespace)
            sources.append(Source(f"topic {topic}", partial(_topic, bootstrap_servers, topic)))
    return sources


def _walk_or_exit(sources: Callable[[], list[Source]]) -> list[Audit]:
    """The audits, or exit 2: whatever stops the walk is no verdict on the chains, so it must
    never leave with 1, the code of a break."""
    try:
        return asyncio.run(_walk(sources()))
    except COULD_NOT_RUN_ERRORS as error:
        typer.echo(f"verify: could not run: {error}", err=True)
    except KeyboardInterrupt:
        typer.echo("verify: interrupted before the end", err=True)
    except Exception:  # a bug here: its traceback helps, its exit code must not mislead
        traceback.print_exc()
    raise typer.Exit(COULD_NOT_RUN)


async def _walk(sources: list[Source]) -> list[Audit]:
    audits = []
    for source in sources:
        with _display(source.label) as advance:
            audit = await source.audit(advance)
        for found in audit.breaks:
            typer.echo(line(found))
        typer.echo(f"{source.label}: {summary(audit)}")
        audits.append(audit)
    return audits


async def _store(database_url: str, service: str, progress: OnProgress) -> Audit:
    try:
        connection = await asyncpg.connect(database_url, timeout=CONNECT_SECONDS)
    except COULD_NOT_RUN_ERRORS as error:
        raise VerificationUnavailable(
            f"cannot reach the database at {_without_password(database_url)}: {error}"
        ) from error
    try:
        return await audit_store(connection, service, progress=progress)
    finally:
        await connection.close()


async def _topic(bootstrap_servers: str, topic: str, progress: OnProgress) -> Audit:
    return await audit_topic(bootstrap_servers, topic, progress=progress)


def line(found: Break) -> str:
    version = "-" if found.version is None else found.version
    return (
        f"BREAK {found.where} stream={found.stream_id} version={version}"
        f" kind={found.kind}: {found.detail}"
    )


def summary(audit: Audit) -> str:
    return f"verified {audit.events} events in {audit.streams} streams: {len(audit.breaks)} breaks"


def _without_password(database_url: str) -> str:
    parts = urlsplit(database_url)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


class EventRate(ProgressColumn):
    """Events checked per second (rich's own speed columns count bytes)."""

    def render(self, task: Task) -> Text:
        rate = task.speed or (task.completed / task.elapsed if task.elapsed else None)
        return Text("" if rate is None else f"{rate:,.0f} events/s")


@contextmanager
def _display(label: str) -> Iterator[OnProgress]:
    # on stderr, so stdout stays the report a script can read
    display = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f} events"),
        EventRate(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    with display:
        task = display.add_task(label, total=None)
        yield partial(display.advance, task)
