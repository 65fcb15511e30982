"""Run, replay or re-drive a projection:

python -m shared.projections run     --projection package.module:attribute
python -m shared.projections replay  --projection package.module:attribute
python -m shared.projections redrive --projection package.module:attribute
"""

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeRemainingColumn

from shared.config import KinerjaSettings
from shared.observability.metrics import serve_metrics
from shared.projections.projection import Projection, load_projection
from shared.projections.redrive import redrive
from shared.projections.replay import replay
from shared.projections.runner import ProjectionRunner
from shared.runtime import start_process
from shared.store.db import create_pool

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
PROJECTION = typer.Option(..., "--projection", "-p", help="package.module:attribute")
T = TypeVar("T")


def _with_pool(
    spec: str, work: Callable[[Projection, asyncpg.Pool, KinerjaSettings], Awaitable[T]]
) -> T:
    settings = KinerjaSettings()
    projection = load_projection(spec)
    start_process(f"projection-{projection.name}", settings)

    async def main() -> T:
        pool = await create_pool(str(settings.database_url), max_size=4)
        try:
            return await work(projection, pool, settings)
        finally:
            await pool.close()

    return asyncio.run(main())


@app.command()
def run(
    spec: str = PROJECTION,
    batch_size: int = typer.Option(500, min=1, help="messages per fetch and transaction"),
    metrics_port: int = typer.Option(0, help="serve Prometheus /metrics on this port (0: off)"),
) -> None:
    """Feed the projection from Kafka as a consumer group member until SIGTERM."""
    serve_metrics(metrics_port)

    async def work(projection: Projection, pool: asyncpg.Pool, settings: KinerjaSettings) -> None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        runner = ProjectionRunner(
            projection,
            pool,
            settings.kafka_bootstrap_servers,
            batch_size=batch_size,
        )
        await runner.run(stop)

    _with_pool(spec, work)


@app.command("replay")
def replay_command(
    spec: str = PROJECTION,
    workers: int | None = typer.Option(
        None,
        min=1,
        help="processes that rebuild side by side, each a share of the partitions"
        " [default: one per core from 100,000 messages, else one]",
        show_default=False,
    ),
) -> None:
    """Rebuild the read model from the start of its topics, then switch over in one step."""

    async def work(projection: Projection, pool: asyncpg.Pool, settings: KinerjaSettings) -> None:
        with _bar(f"replaying {projection.name}") as (bar, task):
            report = await replay(
                projection,
                pool,
                settings.kafka_bootstrap_servers,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                workers=workers,
                database_url=str(settings.database_url),
            )
        typer.echo(
            f"replayed {report.messages} messages in {report.seconds:.1f}s "
            f"({report.messages / max(report.seconds, 1e-9):,.0f}/s, {report.workers} process"
            f"{'es' * (report.workers > 1)}); live: {report.schema}"
        )

    _with_pool(spec, work)


@app.command("redrive")
def redrive_command(spec: str = PROJECTION) -> None:
    """Apply the projection's dead letters again, in order, stopping at one that still fails."""

    async def work(projection: Projection, pool: asyncpg.Pool, settings: KinerjaSettings) -> None:
        with _bar(f"re-driving {projection.name}") as (bar, task):
            report = await redrive(
                projection,
                pool,
                settings.kafka_bootstrap_servers,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        typer.echo(
            f"applied {report.applied}, duplicates {report.duplicates}, "
            f"unreadable {report.unreadable}"
        )
        for failure in report.still_failing:
            typer.echo(f"still failing: {failure}", err=True)
        if report.still_failing:
            raise typer.Exit(1)

    _with_pool(spec, work)


class _bar:
    def __init__(self, description: str) -> None:
        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self.task = self.progress.add_task(description, total=None)

    def __enter__(self) -> tuple[Progress, TaskID]:
        self.progress.start()
        return self.progress, self.task

    def __exit__(self, *_: object) -> None:
        self.progress.stop()


if __name__ == "__main__":
    app()
