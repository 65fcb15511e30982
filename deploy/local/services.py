"""The four services as separate background processes beside the local stack: each with its
pid file and log, started once (a second start finds it running), stopped on `down`."""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.local.processes import (
    StackError,
    is_alive,
    port_is_free,
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

    def start(self, env: dict[str, str]) -> str:
        if self.running_pid() is not None:
            return "already running"
        if not port_is_free(self.settings.host, self.port):
            raise StackError(
                f"{self.name}: port {self.port} is taken; set KINERJA_{self.name.upper()}_PORT"
            )
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}", "--host", self.settings.host,
                 "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,  # survives the terminal that ran `make run`
            )  # fmt: skip
        self.pid_file.write_text(str(process.pid))
        return "started"

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        pids = [pid for pid in [self.running_pid()] if pid is not None]
        marker = f"services.{self.name} --host {self.settings.host} --port {self.port}"
        pids += [pid for pid in processes_mentioning(marker) if pid not in pids]
        terminate(pids)
        self.pid_file.unlink(missing_ok=True)


def services(settings: StackSettings) -> list[Service]:
    return [
        Service(name, int(os.environ.get(f"KINERJA_{name.upper()}_PORT", port)), settings)
        for name, port in PORTS.items()
    ]


def wait_ready(running: list[Service], timeout: float = 90) -> None:
    """Until every service answers /readyz; a service that died or never answers is named
    with the end of its log."""
    deadline = time.monotonic() + timeout
    waiting = list(running)
    while waiting and time.monotonic() < deadline:
        for service in list(waiting):
            if service.running_pid() is None:
                raise StackError(
                    f"{service.name} exited; its log {service.log}:\n{tail(service.log)}"
                )
            if service.ready():
                waiting.remove(service)
        time.sleep(0.3)
    if waiting:
        names = ", ".join(s.name for s in waiting)
        raise StackError(f"not ready after {timeout:.0f}s: {names}; see {waiting[0].log}")
