"""The journal's relay and read models in a process of their own, beside the API's: the two
then use two cores, where in one process they take turns on one (the month-end batch path
hashes in the API, and encodes and decodes in the relay and the read model).

The API's process keeps its worker running: a worker that ends by itself (killed, or a bug)
is started again after a backoff (`shared.backoff`: 1 s doubling to 30 s, back to 1 s once a
run lasted a minute), logged as `worker.restarting`, while the API goes on serving: entries
are recorded meanwhile and the new worker's relay and projections resume from their
checkpoints. A worker whose API's process is gone (killed outright) stops by itself."""

import asyncio
import contextlib
import functools
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from prometheus_client import Counter, Gauge

from shared.backoff import Backoff
from shared.process import Worker

log = structlog.get_logger(__name__)
# how long a worker asked to stop may take (draining) before it is killed; below the 30 s
# that `make run`'s supervisor and Kubernetes' default grace give the whole service
STOP_GRACE_SECONDS = 20.0

WORKER_UP = Gauge(
    "kinerja_journal_worker_up",
    "1 while the journal's worker process (relay, projections) runs, 0 while it is restarted.",
)
WORKER_RESTARTS = Counter(
    "kinerja_journal_worker_restarts_total",
    "Times the journal's worker process ended by itself and was started again.",
)


@dataclass
class WorkerStatus:
    """What the API's process knows of its worker, for the logs and /readyz's body: running
    (with its pid), restarting (after a backoff), or stopped with the service."""

    state: str = "starting"
    pid: int | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    last_exit_at: datetime | None = None
    next_start_at: datetime | None = None

    def running(self, pid: int) -> None:
        self.state, self.pid, self.next_start_at = "running", pid, None
        WORKER_UP.set(1)

    def ended(self, code: int | None, restart_in: float | None) -> None:
        """The worker ended with `code` (None: it could not be started); it starts again
        in `restart_in` seconds, or not at all (None: the service stops)."""
        now = datetime.now(UTC)
        self.pid, self.last_exit_code, self.last_exit_at = None, code, now
        if restart_in is None:
            self.state, self.next_start_at = "stopped", None
        else:
            self.state, self.next_start_at = "restarting", now + timedelta(seconds=restart_in)
            self.restarts += 1
            WORKER_RESTARTS.inc()
        WORKER_UP.set(0)

    def describe(self) -> dict[str, object]:
        """As JSON: `{"state": "restarting", "pid": null, "restarts": 2, "last_exit_code":
        -9, "last_exit_at": "...", "next_start_at": "..."}`."""
        return {
            "state": self.state,
            "pid": self.pid,
            "restarts": self.restarts,
            "last_exit_code": self.last_exit_code,
            "last_exit_at": _iso(self.last_exit_at),
            "next_start_at": _iso(self.next_start_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def spawned(
    arguments: Sequence[str],
    status: WorkerStatus | None = None,
    backoff: Backoff | None = None,
) -> Worker:
    """A worker of the API's process that runs `python -m services.journal --worker-of PID
    ARGUMENTS` as its child, started again after `backoff` whenever it ends by itself, and
    stopped with the service; `status` follows it."""
    status = status if status is not None else WorkerStatus()
    backoff = backoff if backoff is not None else Backoff()
    command = [sys.executable, "-m", "services.journal", f"--worker-of={os.getpid()}", *arguments]

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                child = await asyncio.create_subprocess_exec(*command)
            except OSError:  # no process to be had now (EAGAIN, ENOMEM): later
                code: int | None = None
                log.exception("worker.not_started")
            else:
                status.running(child.pid)
                code = await _until_ended(child, stop)
                if stop.is_set():
                    status.ended(code, None)
                    # asked to stop before it had set its handlers, the child ends by SIGTERM
                    if code not in (0, -signal.SIGTERM):
                        raise RuntimeError(
                            f"the journal's worker process ended with exit code {code}"
                        )
                    return
            delay = backoff.after(time.monotonic() - started)
            status.ended(code, delay)
            log.warning("worker.restarting", exit_code=code, delay=delay, restarts=status.restarts)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        status.ended(status.last_exit_code, None)

    return run


async def _until_ended(child: asyncio.subprocess.Process, stop: asyncio.Event) -> int:
    """The child's exit code, once it ends by itself or, asked to stop, after SIGTERM."""
    exited = asyncio.create_task(child.wait())
    asked = asyncio.create_task(stop.wait())
    await asyncio.wait({exited, asked}, return_when=asyncio.FIRST_COMPLETED)
    asked.cancel()
    if not exited.done():
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
        # a worker stuck on its way down (its relay waiting on a broker that is away) must
        # not hold the API's shutdown for ever: killed after a grace below the supervisor's
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(exited), STOP_GRACE_SECONDS)
        log.warning("worker.killed", pid=child.pid, grace_seconds=STOP_GRACE_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            child.kill()
    return await exited


async def run_alone(workers: Sequence[Worker], parent: int) -> None:
    """The child's side: the workers until SIGTERM or SIGINT, or until `parent` is gone; a
    worker that fails stops the others and is raised (the parent then starts a new child)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watch: Worker = functools.partial(_while_parent_lives, parent)
    tasks = [asyncio.create_task(worker(stop)) for worker in [*workers, watch]]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    await asyncio.gather(*tasks)
    log.info("worker.stopped", parent=parent)


async def _while_parent_lives(parent: int, stop: asyncio.Event) -> None:
    # a parent killed outright (SIGKILL) cannot stop its child: the child, orphaned, sees
    # another parent (also when that happened before it got here), and stops what it does
    # (the relay and the projections resume from their checkpoints under the next parent)
    while not stop.is_set() and os.getppid() == parent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    if not stop.is_set():
        log.warning("worker.orphaned", parent=parent, stopping=True)
