"""The whole system on this machine, as `make run` starts it: the local stack, the four
services as separate processes (each with its relay, projections and workers) kept running by
a supervisor (`deploy.local.supervisor`: one that dies is started again after a backoff), and
a sample agency whose first quarter is played through the HTTP APIs.

    python -m deploy.local.system up [--no-seed]   # harmless when already up; reuses what is there
    python -m deploy.local.system down             # the supervisor, every service, the stack
    python -m deploy.local.system status           # per service: state, pid, restarts, last exit
"""

import asyncio
import os
import time
from datetime import UTC, datetime

import typer

from deploy.local.processes import StackError
from deploy.local.seed import APPELLANT, HEAD, UNIT, seed, year_with_a_finished_first_quarter
from deploy.local.services import Service, services, wait_ready
from deploy.local.stack import Stack
from deploy.local.supervisor import Supervisor
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
        supervisor = Supervisor(stack.settings)
        typer.echo(f"system: supervisor {supervisor.start(env, running)} (log {supervisor.log})")
        for service in running:
            typer.echo(f"system: {service.name} supervised (log {service.log})")
        wait_ready(running, lambda name: int(supervisor.service(name).get("restarts", 0)))
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
    """Stop the supervisor and the four services, then Kafka and PostgreSQL; nothing of ours
    is left running."""
    stack = Stack()
    Supervisor(stack.settings).stop()
    for service in services(stack.settings):  # any left without it, or from before it
        service.stop()
    stack.down()
    typer.echo("system: down")


@app.command()
def status() -> None:
    """What runs: the stack's parts, the supervisor, and each service's readiness, pid,
    restarts so far and last exit."""
    stack = Stack()
    typer.echo(f"stack      {'running' if stack.is_up() else 'stopped'}")
    supervisor = Supervisor(stack.settings)
    pid = supervisor.running_pid()
    since = supervisor.state().get("started_at")
    typer.echo(
        f"supervisor {f'running    pid {pid} since {since}' if pid else 'stopped'}"
        f" (log {supervisor.log})"
    )
    every_ready = True
    for service in services(stack.settings):
        line = service_line(service, supervisor.service(service.name) if pid else {})
        every_ready &= line.split()[1] == "ready"
        typer.echo(line)
    if not (stack.is_up() and every_ready):
        raise typer.Exit(3)


def service_line(service: Service, supervised: dict[str, object]) -> str:
    """`journal    ready      pid 4242  restarts 1 (last exit -9 at 2026-...)  http://...`"""
    pid = service.running_pid()
    if service.ready():
        state = "ready"
    elif supervised.get("state") == "restarting":
        state = f"restarting at {supervised.get('next_start_at')}"
    elif pid:
        state = "running"  # not ready (yet)
    else:
        state = "stopped"
    if pid and not supervised:
        state += " (unsupervised)"
    parts = [f"{service.name:10} {state:10}", f"pid {pid}" if pid else "pid -"]
    if supervised:
        restarts = f"restarts {supervised.get('restarts', 0)}"
        if supervised.get("last_exit_at"):
            code = supervised.get("last_exit_code")
            restarts += f" (last exit {code} at {supervised['last_exit_at']})"
        parts.append(restarts)
    return "  ".join([*parts, service.url, f"(log {service.log})"])


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
