"""The services of a fault scenario as real processes on the private stack: started, killed
(SIGKILL, as a crashed node), started again by the test where a supervisor would, and every
process of theirs ended after, including a journal worker its API left behind."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from deploy.local.processes import is_alive
from tests.support.metrics import free_port
from tests.support.services import journal_workers

REPOSITORY = Path(__file__).resolve().parents[2]
LOGS = REPOSITORY / ".cache" / "faults" / "logs"


def worker_of(api_pid: int) -> int | None:
    """The journal's worker process of the API process `api_pid`, if one runs."""
    return next(iter(journal_workers(api_pid)), None)


@dataclass
class Service:
    name: str
    command: list[str]
    url: str
    log: Path
    process: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)  # every API pid it had, for the cleanup

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()


@dataclass
class System:
    """targets, journal and appraisal on one database and a topic namespace of their own."""

    scenario: str
    database_url: str
    env: dict[str, str]
    services: dict[str, Service]
    restarted_by_hand: list[str] = field(default_factory=list)

    @classmethod
    def prepare(
        cls, scenario: str, names: Sequence[str], database_url: str, kafka_bootstrap_servers: str
    ) -> "System":
        logs = LOGS / scenario
        logs.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "KINERJA_DATABASE_URL": database_url,
            "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
            "KINERJA_TOPIC_PARTITIONS": "3",
            "KINERJA_TOPIC_NAMESPACE": f"faults-{uuid.uuid4().hex[:8]}",
            "KINERJA_JOURNAL_WORKERS_APART": "true",  # its relay and projections in a child
        }
        services = {}
        for name in names:
            port = free_port()
            log = logs / f"{name}.log"
            log.write_bytes(b"")
            command = [sys.executable, "-m", f"services.{name}", "--port", str(port)]
            services[name] = Service(name, command, f"http://127.0.0.1:{port}", log)
        return cls(scenario, database_url, env, services)

    def start(self, name: str) -> None:
        service = self.services[name]
        with service.log.open("ab") as out:
            service.process = subprocess.Popen(
                service.command, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        service.pids.append(service.process.pid)

    def start_all(self) -> None:
        for name in self.services:
            self.start(name)

    def restart_by_hand(self, name: str) -> None:
        """What a supervisor (Kubernetes, `make run`'s) does for a dead process."""
        self.restarted_by_hand.append(name)
        self.start(name)

    def kill(self, name: str) -> int:
        """SIGKILL: no shutdown, no flush. The pid it had."""
        service = self.services[name]
        assert service.process is not None
        service.process.kill()
        service.process.wait(timeout=30)
        return service.pid

    def worker(self) -> int | None:
        journal = self.services["journal"]
        return worker_of(journal.pid) if journal.running() else None

    def dead(self) -> dict[str, int | None]:
        """The services whose API process is not running: their exit codes."""
        return {n: s.exit_code() for n, s in self.services.items() if not s.running()}

    def stop_all(self, grace_seconds: float = 10.0) -> None:
        """SIGTERM to every process of ours still alive (APIs, and journal workers of any API
        pid we started, orphans too), then SIGKILL what is left after the grace period."""
        pids = [s.pid for s in self.services.values() if s.running()]
        for service in self.services.values():
            pids += [w for w in map(worker_of, service.pids) if w is not None]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and any(map(is_alive, pids)):
            time.sleep(0.2)
        for pid in filter(is_alive, pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for service in self.services.values():
            if service.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    service.process.wait(timeout=10)

    def log_tail(self, name: str, lines: int = 15) -> str:
        text = self.services[name].log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


async def create_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def wait_ready(url: str, seconds: float = 90) -> float:
    """Until the service answers /readyz 200; the seconds it took."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=5) as client, asyncio.timeout(seconds):
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return time.monotonic() - started
            await asyncio.sleep(0.2)
