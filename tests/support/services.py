"""Kinerja services as real processes for end-to-end tests, and a client's helpers."""

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.local.processes import is_alive
from shared.http.auth import issue_token
from tests.support.metrics import free_port

Answer = Callable[[], Awaitable[Any]]


@dataclass
class Running:
    urls: dict[str, str]
    namespace: str
    env: dict[str, str]  # of the processes: for a command run beside them
    commands: dict[str, list[str]] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def topic(self, service: str) -> str:
        return f"{self.namespace}.{service}.v1"

    def start(self, name: str) -> None:
        """Its output goes to `$KINERJA_E2E_LOGS/<name>.log` when that folder is set."""
        logs = os.environ.get("KINERJA_E2E_LOGS")
        with Path(logs, f"{name}.log").open("ab") if logs else open(os.devnull, "wb") as out:
            self.processes[name] = subprocess.Popen(
                self.commands[name], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, no flush, as a crashed node."""
        self.processes[name].kill()
        self.processes[name].wait(timeout=30)


def journal_workers(api_pid: int) -> list[int]:
    """The live worker processes of the journal's API process `api_pid`: those whose command
    line has the argument `--worker-of=<api_pid>`."""
    marker = f"--worker-of={api_pid}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in arguments and is_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def schemas_of(services: Sequence[str]) -> list[str]:
    """The schemas the services keep: each one's store, and its projections' read models."""
    schemas = []
    for name in services:
        app = importlib.import_module(f"services.{name}.entrypoints.app")
        schemas += [name, *(p.schema() for p in app.projections("kinerja"))]
    return schemas


@contextmanager
def running_services(
    services: Sequence[str], database_url: str, kafka_bootstrap_servers: str
) -> Iterator[Running]:
    """Each service as `python -m services.<name>` (API, relay, projections), on a topic
    namespace of their own, so their topics start empty, as on a new cluster; their schemas
    are dropped first so the database starts empty too. Each must stop cleanly on SIGTERM. A
    service may carry flags: `"notify --no-reminders"`."""
    flags = {spec.split()[0]: spec.split()[1:] for spec in services}
    asyncio.run(_drop(database_url, schemas_of(list(flags))))
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KINERJA_TOPIC_PARTITIONS": "3",
        "KINERJA_TOPIC_NAMESPACE": namespace,
        "KINERJA_APPRAISAL_CURVE_WATCH_SECONDS": "1",  # judge curves at once, not each 30 s
    }
    ports = {name: free_port() for name in flags}
    running = Running(
        {name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
        namespace,
        env,
        {
            name: [sys.executable, "-m", f"services.{name}", "--port", str(port), *flags[name]]
            for name, port in ports.items()
        },
    )
    for name in flags:
        running.start(name)
    try:
        yield running
    finally:
        processes = list(running.processes.values())
        for process in processes:
            process.send_signal(signal.SIGTERM)
        assert [p.wait(timeout=30) for p in processes] == [0] * len(processes)


async def _drop(database_url: str, schemas: Sequence[str]) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {', '.join(schemas)} CASCADE")
    finally:
        await connection.close()


def as_(subject: str) -> dict[str, str]:
    """The headers of a caller: a development token for a NIP or admin:/auditor:<name>."""
    return {"Authorization": f"Bearer {issue_token(subject)}"}


async def call(
    client: httpx.AsyncClient, method: str, path: str, who: str, body: Any = None
) -> Any:
    """A request that must succeed; its JSON answer."""
    response = await client.request(method, path, json=body, headers=as_(who))
    assert response.status_code in (200, 201), response.text
    return response.json()


async def once_the_journal_has_seen(
    journal: httpx.AsyncClient, entry: dict[str, Any], who: str
) -> httpx.Response:
    """POST `entry` again while the journal answers 409 (it has not yet seen the approval of
    the SKP from the topic), for a minute at most; its first other answer."""
    async with asyncio.timeout(60):
        while (
            answer := await journal.post("/entries", json=entry, headers=as_(who))
        ).status_code == 409:
            await asyncio.sleep(0.2)
    return answer


async def ready(client: httpx.AsyncClient) -> None:
    """Wait until the service answers /readyz (its database and Kafka reachable)."""
    async with asyncio.timeout(60):
        while True:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def until(ask: Answer, holds: Callable[[Any], bool], seconds: float = 60) -> Any:
    """Poll a read (eventually consistent) until its answer holds; fail after `seconds`."""
    answer = None
    try:
        async with asyncio.timeout(seconds):
            while not holds(answer := await ask()):
                await asyncio.sleep(0.2)
    except TimeoutError:
        pytest.fail(f"never held; last answer: {answer}")
    return answer


async def seen(client: httpx.AsyncClient, path: str, who: str) -> Any:
    """A read that may not have caught up yet: its JSON, or None on 404 and 409."""
    response = await client.get(path, headers=as_(who))
    if response.status_code in (404, 409):
        return None
    assert response.status_code == 200, response.text
    return response.json()


async def status_of(client: httpx.AsyncClient, method: str, path: str, who: str, body: Any) -> int:
    return (await client.request(method, path, json=body, headers=as_(who))).status_code
