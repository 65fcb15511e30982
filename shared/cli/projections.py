"""The projections of the four services by name, and `kinerja replay`."""

import importlib
from collections.abc import Callable
from typing import Annotated

import typer

from shared.cli.common import (
    SERVICES,
    BootstrapServers,
    CommandError,
    DatabaseUrl,
    Namespace,
    database,
    progress_bar,
    run,
    settings,
)
from shared.cli.kafka import admin_client, partitions_of
from shared.projections.projection import Projection
from shared.projections.replay import replay as replay_projection
from shared.runtime import tune_garbage_collector

ALL = "all"


def registry(namespace: str) -> dict[str, Projection]:
    """Every read model of the four services by its name (`appraisal.results`), from the list
    each service keeps in its `entrypoints.app.projections`, as its own process and its
    deployment checks read it."""
    found: dict[str, Projection] = {}
    for service in SERVICES:
        module = importlib.import_module(f"services.{service}.entrypoints.app")
        listed: Callable[[str], list[Projection]] = module.projections
        found.update((projection.name, projection) for projection in listed(namespace))
    return found


def chosen(names: list[str], namespace: str) -> list[Projection]:
    """The projections named (`all`: every one); CommandError listing the known names for a
    name that is none of them."""
    known = registry(namespace)
    if ALL in names:
        return list(known.values())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CommandError(f"no projection named {unknown[0]!r}; there are: {', '.join(known)}")
    return [known[name] for name in dict.fromkeys(names)]


Names = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="PROJECTION",
        help="projection names (see --list), or `all`",
        show_default=False,
    ),
]


def replay(
    names: Names = None,
    listing: Annotated[
        bool, typer.Option("--list", help="list the projections by name and exit")
    ] = False,
    database_url: DatabaseUrl = None,
    bootstrap_servers: BootstrapServers = None,
    namespace: Namespace = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="processes that rebuild a read model side by side, each a share of the"
            " partitions [default: one per core from 100,000 messages, else one]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Rebuild read models from the start of their topics into a fresh schema while the live
    ones keep serving, then switch each over in one transaction."""
    config = settings(database_url, bootstrap_servers, namespace)
    if listing:
        for projection in registry(config.topic_namespace).values():
            typer.echo(
                f"{projection.name:<20} {projection.schema():<24} {', '.join(projection.topics)}"
            )
        return
    if not names:
        raise typer.BadParameter("name a projection, or `all` (see --list)", param_hint="NAME")

    async def work() -> None:
        tune_garbage_collector()  # a replay streams every event: see shared/runtime.py
        projections = chosen(names, config.topic_namespace)
        await _check_topics(config.kafka_bootstrap_servers, projections)
        async with database(config) as pool:
            for projection in projections:
                with progress_bar(f"replaying {projection.name}") as advance:
                    report = await replay_projection(
                        projection,
                        pool,
                        config.kafka_bootstrap_servers,
                        progress=advance,
                        workers=workers,
                        database_url=str(config.database_url),
                    )
                rate = report.messages / max(report.seconds, 1e-9)
                typer.echo(
                    f"replayed {projection.name}: {report.messages} messages in"
                    f" {report.seconds:.1f}s ({rate:,.0f}/s, {report.workers} process"
                    f"{'es' * (report.workers > 1)}); live: {report.schema}"
                )

    run("replay", work)


async def _check_topics(bootstrap_servers: str, projections: list[Projection]) -> None:
    """Before anything is built: a topic that is not there is a clear error, not a wait."""
    wanted = {topic for projection in projections for topic in projection.topics}
    async with admin_client(bootstrap_servers) as admin:
        missing = sorted(wanted - set(await partitions_of(admin, wanted)))
    if missing:
        raise CommandError(
            f"no topic {', '.join(missing)} on {bootstrap_servers}: has its service published yet?"
        )
