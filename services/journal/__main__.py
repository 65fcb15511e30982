"""Run the journal service: its HTTP API and, beside it in a worker process of their own, its
outbox relay and the projections it keeps (its view of the targets, its read model), so the
two use two cores at the month-end peak; `--no-workers-apart` keeps them in the API's process.
A worker process that ends by itself is started again after a backoff while the API serves.

    python -m services.journal [--host 127.0.0.1] [--port 8002] [--no-relay] [--no-projections]
                               [--no-workers-apart] [--workers-metrics-port PORT]
"""

import asyncio

import typer

from services.journal import worker_process
from services.journal.entrypoints.app import SERVICE, build_app, projections
from shared import process
from shared.config import KinerjaSettings
from shared.observability.metrics import serve_metrics
from shared.runtime import start_process


def main(
    host: str = typer.Option("127.0.0.1", envvar="KINERJA_JOURNAL_HOST"),
    port: int = typer.Option(8002, envvar="KINERJA_JOURNAL_PORT"),
    relay: bool = typer.Option(True, help="also publish the store to kinerja.journal.v1"),
    projections_: bool = typer.Option(
        True, "--projections/--no-projections", help="also feed the targets view and read models"
    ),
    workers_apart: bool = typer.Option(
        True,
        envvar="KINERJA_JOURNAL_WORKERS_APART",
        help="run the relay and projections in a child process, on another core than the API"
        " (the month-end peak needs both cores; --no-workers-apart: one process)",
    ),
    workers_metrics_port: int = typer.Option(
        0,
        envvar="KINERJA_JOURNAL_WORKERS_METRICS_PORT",
        help="with --workers-apart: the child's /metrics (relay and projection lag) on this port",
    ),
    worker_of: int = typer.Option(0, hidden=True, help="be the child process of this PID"),
) -> None:
    """Serve the journal API (OpenAPI at /openapi.json, docs at /docs) until SIGTERM."""
    settings = KinerjaSettings()
    start_process(SERVICE, settings)
    workers = [process.relay(settings, SERVICE)] if relay else []
    if projections_:
        workers += [process.projection(settings, p) for p in projections(settings.topic_namespace)]
    if worker_of:
        serve_metrics(workers_metrics_port)
        asyncio.run(worker_process.run_alone(workers, worker_of))
        return
    app = build_app(settings)
    if workers_apart and workers:
        arguments = [
            "--relay" if relay else "--no-relay",
            "--projections" if projections_ else "--no-projections",
            f"--workers-metrics-port={workers_metrics_port}",
        ]
        status = worker_process.WorkerStatus()
        workers = [worker_process.spawned(arguments, status)]
        # shown in /readyz's body as "worker" (shared/observability/health.py reads
        # app.state.readiness_info), never failing it: entries are recorded while it restarts
        app.state.readiness_info = {"worker": status.describe}
    asyncio.run(process.serve(app, host, port, workers))


if __name__ == "__main__":
    typer.run(main)
