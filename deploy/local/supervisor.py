"""Keeps the local services running, as Kubernetes does in production: `make run` starts this
one process per stack (detached, its pid in `run/supervisor.pid`, its log in
`logs/supervisor.log`), and it starts each service, and starts again one that ends by itself
(killed, crashed), after a backoff (`shared.backoff`: 1 s doubling to 30 s, back to 1 s once
a run lasted a minute), logged as `service.restarting`. What it knows of each service (state,
pid, restarts so far, last exit code and when, next start) it writes to `run/supervisor.json`
for `make status`. SIGTERM (`make down`) stops every service (SIGTERM, then SIGKILL after a
grace) and whatever is left of each one's process group (the journal's worker), then itself.

    python -m deploy.local.supervisor --home HOME [--host 127.0.0.1] --service targets=8001 ...

Why not supervisord (`supervisor` 4.3 on PyPI, well kept, pure Python, no dependencies)? Its
model differs from what is asked here in the three places that matter: a process that has
run past `startsecs` and then dies is restarted at once, with no backoff at all (a service
crashing every ten seconds is restarted every ten seconds forever); backoff applies only to
processes that die while starting, growing by one second a try without a cap, and after
`startretries` tries it gives up for good (FATAL), so a service that cannot start while
PostgreSQL is away for a few minutes stays down, the very thing this is for; and it counts no
restarts and forgets the exit code of a process that died while starting, so `make status`
could not say how often a service came back without an event listener of our own beside it
(a second protocol to speak). Bridging those would take about as much code as this file,
plus a config file to generate, an XML-RPC client and a dependency; this is one asyncio
loop a service, sharing its backoff with the journal's worker restarts.
"""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer

from deploy.local.processes import (
    StackError,
    is_alive,
    port_is_free,
    read_pid,
    tail,
    terminate,
    wait_until,
)
from deploy.local.services import Service, command
from deploy.local.settings import StackSettings
from shared.backoff import Backoff
from shared.observability.logging import configure_logging

log = structlog.get_logger(__name__)

# a service asked to stop drains its relay and projections: as long as `make down` waited
STOP_GRACE_SECONDS = 30.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class ServiceState:
    """What the supervisor knows of one service, as `run/supervisor.json` holds it."""

    state: str = "starting"  # starting | running | restarting | stopping | stopped
    pid: int | None = None
    started_at: str | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    last_exit_at: str | None = None
    next_start_at: str | None = None


class Supervising:
    """The supervisor's side: one loop a service, the state file kept current."""

    def __init__(self, home: Path, commands: dict[str, list[str]]) -> None:
        self.home = home
        self.commands = commands
        self.backoff = {name: Backoff() for name in commands}
        self.states = {name: ServiceState() for name in commands}
        self.started_at = _now()

    @property
    def run(self) -> Path:
        return self.home / "run"

    def save(self) -> None:
        document = {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "services": {name: asdict(state) for name, state in self.states.items()},
        }
        temporary = self.run / "supervisor.json.tmp"
        temporary.write_text(json.dumps(document, indent=2))
        temporary.replace(self.run / "supervisor.json")

    async def main(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        self.run.mkdir(parents=True, exist_ok=True)
        (self.run / "supervisor.pid").write_text(str(os.getpid()))
        self.save()
        log.info("supervisor.started", services=list(self.commands))
        try:
            await asyncio.gather(*(self.keep_running(name, stop) for name in self.commands))
        finally:
            self.save()
            with contextlib.suppress(FileNotFoundError):
                if read_pid(self.run / "supervisor.pid") == os.getpid():
                    (self.run / "supervisor.pid").unlink()
            log.info("supervisor.stopped")

    async def keep_running(self, name: str, stop: asyncio.Event) -> None:
        state, pid_file = self.states[name], self.run / f"{name}.pid"
        log_file = self.home / "logs" / f"{name}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        while not stop.is_set():
            began = time.monotonic()
            code: int | None = None
            try:
                with log_file.open("ab") as out:
                    child = await asyncio.create_subprocess_exec(
                        *self.commands[name],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        # its own process group: what it leaves behind (the journal's worker)
                        # is found and stopped with it
                        start_new_session=True,
                    )
            except OSError:
                log.exception("service.not_started", service=name)
            else:
                state.state, state.pid, state.started_at = "running", child.pid, _now()
                state.next_start_at = None
                pid_file.write_text(str(child.pid))
                self.save()
                code = await self._until_ended(name, child, stop)
                pid_file.unlink(missing_ok=True)
                # waited for even when restarting: the journal's orphaned worker, still
                # draining, would otherwise run beside the new one's for a moment
                await _stop_group(child.pid, wait=True)
            state.pid, state.last_exit_code, state.last_exit_at = None, code, _now()
            if stop.is_set():
                state.state = "stopped"
                self.save()
                return
            delay = self.backoff[name].after(time.monotonic() - began)
            state.state, state.restarts = "restarting", state.restarts + 1
            state.next_start_at = (datetime.now(UTC) + timedelta(seconds=delay)).isoformat(
                timespec="seconds"
            )
            self.save()
            log.warning(
                "service.restarting",
                service=name,
                exit_code=code,
                delay=delay,
                restarts=state.restarts,
                log=str(log_file),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        self.states[name].state = "stopped"

    async def _until_ended(
        self, name: str, child: asyncio.subprocess.Process, stop: asyncio.Event
    ) -> int:
        exited = asyncio.create_task(child.wait())
        asked = asyncio.create_task(stop.wait())
        await asyncio.wait({exited, asked}, return_when=asyncio.FIRST_COMPLETED)
        asked.cancel()
        if not exited.done():
            self.states[name].state = "stopping"
            self.save()
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
            try:
                await asyncio.wait_for(asyncio.shield(exited), STOP_GRACE_SECONDS)
            except TimeoutError:
                log.warning("service.killed", service=name, grace=STOP_GRACE_SECONDS)
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
        return await exited


async def _stop_group(group: int, *, wait: bool) -> None:
    """Ask what is left of an ended service's process group to stop: the journal's worker,
    when the journal was killed outright (it would notice and stop by itself, within a
    second). With `wait`, wait for it, and SIGKILL what outlasts the grace."""
    left = _members(group)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if not (wait and left):
        return
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while (left := _members(group)) and time.monotonic() < deadline:  # noqa: ASYNC110 - no event: /proc
        await asyncio.sleep(0.1)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _members(group: int) -> list[int]:
    """The live processes of a process group (zombies do not count: an orphan's zombie waits
    for a pid 1 that may never reap it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(entry.name))
    return found


# --- the other side: `make run`, `make down` and `make status` ---------------------------


class Supervisor:
    """The supervisor of one stack home, as `deploy.local.system` starts, reads and stops it."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings

    @property
    def pid_file(self) -> Path:
        return self.settings.home / "run" / "supervisor.pid"

    @property
    def state_file(self) -> Path:
        return self.settings.home / "run" / "supervisor.json"

    @property
    def log(self) -> Path:
        return self.settings.logs / "supervisor.log"

    def marker(self) -> str:
        """What only this stack's supervisor has in its command line."""
        return f"deploy.local.supervisor --home {self.settings.home}"

    def running_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        if pid is None or not is_alive(pid):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return None
        return pid if self.marker() in cmdline else None  # not a reused pid

    def state(self) -> dict[str, Any]:
        """The last state the supervisor wrote: `{"pid", "started_at", "services": {name:
        ServiceState as a dict}}`, or `{}`."""
        try:
            document: dict[str, Any] = json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return document

    def service(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.state().get("services", {}).get(name, {})
        return found

    def start(self, env: dict[str, str], services: Sequence[Service]) -> str:
        """Start the supervisor of `services` unless it runs already (then it is reused).
        Services still running without one (an older `make run`, or a supervisor killed
        outright) are stopped first, so that each runs once and under supervision."""
        if self.running_pid() is not None:
            return "already running"
        strays = [s.name for s in services if s.running_pid() is not None]
        for service in services:
            service.stop()
        for service in services:
            if not port_is_free(service.settings.host, service.port):
                raise StackError(
                    f"{service.name}: port {service.port} is taken;"
                    f" set KINERJA_{service.name.upper()}_PORT"
                )
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.unlink(missing_ok=True)
        command = [
            sys.executable, "-m", "deploy.local.supervisor",
            "--home", str(self.settings.home), "--host", self.settings.host,
            *(f"--service={s.name}={s.port}" for s in services),
        ]  # fmt: skip
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True,  # survives the terminal that ran `make run`
            )  # fmt: skip
        self.pid_file.write_text(str(process.pid))
        started = wait_until(
            lambda: self.state().get("pid") == process.pid or process.poll() is not None, 30, 0.1
        )
        if not started or process.poll() is not None:
            raise StackError(f"the supervisor did not start; its log {self.log}:\n{tail(self.log)}")
        if strays:
            return f"started (restarted {', '.join(strays)}, which ran unsupervised)"
        return "started"

    def stop(self) -> None:
        """SIGTERM: it stops every service, then itself; SIGKILL if it outlasts the grace."""
        pid = self.running_pid()
        if pid is not None:
            terminate([pid], grace_seconds=STOP_GRACE_SECONDS + 10)
        self.pid_file.unlink(missing_ok=True)


def main(
    home: Annotated[Path, typer.Option(help="the stack's home: run/ and logs/ are there")],
    service: Annotated[list[str], typer.Option(help="NAME=PORT, once a service")],
    host: str = typer.Option("127.0.0.1"),
) -> None:
    """Run the services given, and start again each one that ends, until SIGTERM."""
    configure_logging("supervisor", "INFO", os.environ.get("KINERJA_LOG_JSON", "true") != "false")
    commands = {}
    for spec in service:
        name, port = spec.split("=", 1)
        commands[name] = command(name, host, int(port))
    asyncio.run(Supervising(home, commands).main())


if __name__ == "__main__":
    typer.run(main)
