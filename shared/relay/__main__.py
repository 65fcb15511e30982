"""Run one service's outbox relay on its own: `python -m shared.relay --service targets`."""

import asyncio
import signal

import typer

from shared import process
from shared.config import KinerjaSettings
from shared.observability.metrics import serve_metrics
from shared.runtime import start_process


async def relay(service: str, batch_size: int, metrics_port: int) -> None:
    settings = KinerjaSettings()
    start_process(f"{service}-relay", settings)
    serve_metrics(metrics_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await process.relay(settings, service, batch_size=batch_size)(stop)


def main(
    service: str = typer.Option(..., help="the service whose store to publish"),
    batch_size: int = typer.Option(1000, min=1, help="events read and sent per round"),
    metrics_port: int = typer.Option(0, help="serve Prometheus /metrics on this port (0: off)"),
) -> None:
    """Publish every event of SERVICE's store to kinerja.SERVICE.v1 until SIGTERM."""
    asyncio.run(relay(service, batch_size, metrics_port))


if __name__ == "__main__":
    typer.run(main)
