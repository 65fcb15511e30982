"""Subprocesses watched from outside: RSS sampled from /proc/PID/status while a progress
function says how far they are, and what they report once they exit."""

import asyncio
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.bench.environment import ROOT, Bench, log
from tests.bench.launch import HWM_FILE
from tests.bench.results import Case

INTERVAL = 0.5
QUARTERS = (0.25, 0.5, 0.75, 1.0)


@dataclass
class Watched:
    """A subprocess, its RSS samples, and its rusage once reaped."""

    process: subprocess.Popen[bytes]
    log_path: Path
    started: float = field(default_factory=time.perf_counter)
    samples: list[tuple[float, int]] = field(default_factory=list)  # (progress, VmRSS kB)
    hwm_kib: int = 0
    exit_code: int | None = None
    usage: resource.struct_rusage | None = None
    seconds: float = 0.0

    def alive(self) -> bool:
        if self.exit_code is None:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                self.exit_code = self.process.returncode = os.waitstatus_to_exitcode(status)
                self.usage = usage
                self.seconds = self.seconds or time.perf_counter() - self.started
        return self.exit_code is None

    def sample(self, progress: float) -> None:
        status = _proc_status(self.process.pid)
        if "VmRSS" in status:
            self.samples.append((progress, status["VmRSS"]))
            self.hwm_kib = max(self.hwm_kib, status.get("VmHWM", 0))

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            for _ in range(300):
                if not self.alive():
                    return
                time.sleep(0.1)
            self.process.kill()
            while self.alive():
                time.sleep(0.1)

    def reported_peak(self) -> int:
        """VmHWM as the child wrote it at exit (tests/bench/launch.py); 0 if it could not."""
        try:
            return int(self.log_path.with_suffix(".hwm").read_text())
        except (OSError, ValueError):
            return 0

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def case(self, key: str, name: str, events: int) -> Case:
        peak = max([self.hwm_kib, self.reported_peak()] + [rss for _, rss in self.samples])
        extra = {f"RSS@{q:.0%} MB": _at(self.samples, q) / 1024 for q in QUARTERS}
        extra["events/s"] = events / self.seconds if self.seconds else 0.0
        if self.usage:
            extra["CPU s"] = self.usage.ru_utime + self.usage.ru_stime
        return Case(key, name, events, self.seconds, peak / 1024, "MB peak", extra,
                    f"{len(self.samples)} samples")  # fmt: skip


def start(bench: Bench, argv: list[str], extra: dict[str, str], log_path: Path) -> Watched:
    env = {
        **os.environ,
        "KINERJA_DATABASE_URL": bench.database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": bench.kafka,
        "KINERJA_TOPIC_PARTITIONS": "6",
        HWM_FILE: str(log_path.with_suffix(".hwm")),
        **extra,
    }
    with log_path.open("wb") as output:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.launch", *argv],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Watched(process, log_path)


async def follow(
    watched: Watched, progress: Callable[[], Awaitable[float]], within: float, *, until_done: bool
) -> None:
    """Sample until progress reaches 1 (until_done) or the process exits by itself."""
    deadline, reported = time.monotonic() + within, 0.0
    while True:
        done = await progress()
        if not watched.alive():
            if until_done or watched.exit_code != 0:
                raise RuntimeError(f"exited {watched.exit_code} early:\n{watched.tail()}")
            return
        watched.sample(done)
        if done >= reported + 0.1:
            reported = done
            rss = watched.samples[-1][1] / 1024 if watched.samples else 0.0
            log(f"memory: {watched.log_path.stem} at {done:.0%}, RSS {rss:.0f} MB")
        if until_done and done >= 1.0:
            watched.seconds = time.perf_counter() - watched.started
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{watched.log_path.stem} not done in {within:.0f}s:\n{watched.tail()}"
            )
        await asyncio.sleep(INTERVAL)


def _proc_status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {
        key: int(value.split()[0])
        for key, _, value in (line.partition(":") for line in lines)
        if key in ("VmRSS", "VmHWM") and value.strip()
    }


def _at(samples: list[tuple[float, int]], quarter: float) -> float:
    if not samples:
        return 0.0
    if quarter >= 1.0:
        return float(samples[-1][1])
    return float(next((rss for done, rss in samples if done >= quarter), samples[-1][1]))
