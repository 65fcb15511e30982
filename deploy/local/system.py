"""The whole system on this machine, as `make run` starts it: the local stack, the four
services as separate processes (each with its relay, projections and workers), and a sample
agency whose first quarter is played through the HTTP APIs.

    python -m deploy.local.system up [--no-seed]   # harmless when already up; reuses what is there
    python -m deploy.local.system down             # every process `up` started
    python -m deploy.local.system status
"""

import asyncio
import os
import time
from datetime import UTC, datetime

import typer

from deploy.local.processes import StackError
from deploy.local.seed import APPELLANT, HEAD, UNIT, seed, year_with_a_finished_first_quarter
from deploy.local.services import services, wait_ready
from deploy.local.stack import Stack
from shared.cli.projections import registry
from shared.http.auth import issue_token
from shared.projections.replay import replay
from shared.projections.schema import is_outdated
from shared.store.db import create_pool

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)


@app.command()
def up(
    sample: bool = typer.Option(True, "--seed/--no-seed", help="play the sample agency"),
) -> None:
    """Start the stack and the four services, wait until they are ready, seed the sample
    agency (once), and print where to look."""
    started = time.monotonic()
    stack = Stack()
    try:
        for part, state in stack.up().items():
            typer.echo(f"system: {part} {state}")
        env = {
            **os.environ,
            "KINERJA_KAFKA_BOOTSTRAP_SERVERS": stack.addresses.kafka_bootstrap_servers,
            "KINERJA_DATABASE_URL": stack.addresses.database_url,
            "KINERJA_LOG_JSON": os.environ.get("KINERJA_LOG_JSON", "true"),
        }
        asyncio.run(
            _rebuild_outdated(stack.addresses.database_url, stack.addresses.kafka_bootstrap_servers)
        )
        running = services(stack.settings)
        for service in running:
            typer.echo(f"system: {service.name} {service.start(env)} (log {service.log})")
        wait_ready(running)
    except StackError as error:
        typer.echo(f"system: failed to start: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"system: four services ready in {time.monotonic() - started:.1f}s")
    year = year_with_a_finished_first_quarter(datetime.now(UTC).date())
    urls = {s.name: s.url for s in running}
    if sample:
        played = asyncio.run(seed(urls, year, say=typer.echo))
        typer.echo("system: sample agency " + ("seeded" if played else "already there"))
    typer.echo(_where_to_look(urls, year, stack.addresses.exports()))
    typer.echo(f"system: up in {time.monotonic() - started:.1f}s; `make down` stops it all")


@app.command()
def down() -> None:
    """Stop the four services, then Kafka and PostgreSQL; nothing of ours is left running."""
    stack = Stack()
    for service in services(stack.settings):
        service.stop()
    stack.down()
    typer.echo("system: down")


@app.command()
def status() -> None:
    """What runs: the stack's parts and each service's readiness."""
    stack = Stack()
    typer.echo(f"stack     {'running' if stack.is_up() else 'stopped'}")
    every_ready = True
    for service in services(stack.settings):
        state = "ready" if service.ready() else "running" if service.running_pid() else "stopped"
        every_ready &= state == "ready"
        typer.echo(f"{service.name:9} {state:8} {service.url} (log {service.log})")
    if not (stack.is_up() and every_ready):
        raise typer.Exit(3)


async def _rebuild_outdated(database_url: str, bootstrap_servers: str) -> None:
    """A read model whose tables the code now defines otherwise (a new version of a service)
    is rebuilt from the topics before the service starts on it."""
    pool = await create_pool(database_url, max_size=4)
    try:
        for projection in registry("kinerja").values():
            async with pool.acquire() as db:
                outdated = await is_outdated(db, projection)
            if outdated:
                typer.echo(f"system: rebuilding {projection.name}: its tables changed")
                await replay(projection, pool, bootstrap_servers)
    finally:
        await pool.close()


def _where_to_look(urls: dict[str, str], year: int, exports: str) -> str:
    admin, head = issue_token("admin:demo"), issue_token(HEAD)
    lines = [
        "",
        "Where to look:",
        *(f"  {name:9} API docs  {url}/docs" for name, url in urls.items()),
        "  AsyncAPI (every topic and event)  shared/contracts/asyncapi/",
        "  JSON Schemas of the events        shared/contracts/schemas/",
        f"  an inbox (the appellant's):  curl -H 'Authorization: Bearer {issue_token(APPELLANT)}'"
        f" {urls['notify']}/inbox/{APPELLANT}",
        f"  the unit's distribution:     curl -H 'Authorization: Bearer {head}'"
        f" {urls['appraisal']}/units/{UNIT}/distribution/{year}/Q1",
        f"  an admin token:              {admin}",
        "  more tokens: .venv/bin/kinerja token <NIP>, or <name> --role admin|auditor",
        "",
        "To use the stack from a shell:",
        exports,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    app()
