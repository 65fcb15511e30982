"""The four services as separate background processes beside the local stack, each with its
pid file and log; `deploy.local.supervisor` starts them and keeps them running, and stops
them on `down`."""

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.local.processes import (
    StackError,
    is_alive,
    processes_mentioning,
    read_pid,
    tail,
    terminate,
)
from deploy.local.settings import StackSettings

PORTS = {"targets": 8001, "journal": 8002, "appraisal": 8003, "notify": 8004}


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    settings: StackSettings

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.settings.home / "run" / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return self.settings.logs / f"{self.name}.log"

    def running_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if pid is not None and is_alive(pid) else None

    @property
    def command(self) -> list[str]:
        return command(self.name, self.settings.host, self.port)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Stop it where it runs without its supervisor (started before `make run` supervised,
        or left by a supervisor killed outright)."""
        pids = [pid for pid in [self.running_pid()] if pid is not None]
        marker = " ".join(self.command[1:])
        pids += [pid for pid in processes_mentioning(marker) if pid not in pids]
        terminate(pids)
        self.pid_file.unlink(missing_ok=True)


def command(name: str, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", f"services.{name}", "--host", host, "--port", str(port)]


def services(settings: StackSettings) -> list[Service]:
    return [
        Service(name, int(os.environ.get(f"KINERJA_{name.upper()}_PORT", port)), settings)
        for name, port in PORTS.items()
    ]


def wait_ready(
    running: list[Service],
    restarts: Callable[[str], int] | None = None,
    timeout: float = 90,
) -> None:
    """Until every service answers /readyz; a service that ended meanwhile (its `restarts`
    went up: its supervisor starts it again, but it may not start at all) or never answers
    is named with the end of its log."""
    deadline = time.monotonic() + timeout
    waiting = list(running)
    before = {s.name: restarts(s.name) for s in running} if restarts else {}
    while waiting and time.monotonic() < deadline:
        for service in list(waiting):
            if restarts and restarts(service.name) > before[service.name]:
                raise StackError(
                    f"{service.name} exited (its supervisor starts it again; see `make status`);"
                    f" its log {service.log}:\n{tail(service.log)}"
                )
            if service.ready():
                waiting.remove(service)
        time.sleep(0.3)
    if waiting:
        names = ", ".join(s.name for s in waiting)
        raise StackError(f"not ready after {timeout:.0f}s: {names}; see {waiting[0].log}")
