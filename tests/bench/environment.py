"""Where the benchmark runs: its settings, a database of its own, the machine it reports,
and the event data every case shares."""

import asyncio
import contextlib
import itertools
import os
import platform
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from tests.support.events import TargetSet

ROOT = Path(__file__).resolve().parents[2]
POM = ROOT / "deploy" / "local" / "kafka" / "pom.xml"
EVENT_TYPE = TargetSet.type_name
WRITERS = 8  # the concurrency the goals name


@dataclass(frozen=True)
class Bench:
    """What to measure, and against which servers."""

    database_url: str
    kafka: str
    append_events: int
    bulk_events: int
    replay_events: int
    memory_events: int
    journal_entries: int
    rounds: int
    quick: bool


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def nip(i: int) -> str:
    """An 18-digit NIP-shaped subject, one per stream."""
    return f"19900101{i:010d}"


def payload(i: int) -> dict[str, Any]:
    return {"indicator": f"iku-{i % 7}", "target": i % 1000}


def target_event(i: int) -> TargetSet:
    return TargetSet(indicator=f"iku-{i % 7}", target=i % 1000)


def shares(count: int, workers: int) -> list[range]:
    """Work items 0..count-1 dealt round-robin to `workers`, so each has an equal share."""
    return [range(k, count, workers) for k in range(workers)]


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A database made for this run and dropped after it (as tests/conftest.py does)."""
    name = unique("kinerja_bench")
    asyncio.run(_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(database_url: str, sql: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def settle(database_url: str) -> None:
    """A CHECKPOINT before each case, so no case pays for the previous one's dirty pages."""
    with contextlib.suppress(asyncpg.PostgresError):  # needs superuser or pg_checkpoint
        await _execute(database_url, "CHECKPOINT")


async def count_rows(database_url: str, table: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        found: int = await connection.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await connection.close()
    return found


async def drop_schemas(database_url: str, *schemas: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        for schema in schemas:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


async def delete_topics(bootstrap_servers: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [topic for topic in topics if topic in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


PYTHON = sys.executable.encode()


def _children_cpu(known: dict[int, float]) -> float:
    """CPU of the processes below this one: those this process reaped, and those alive with
    what they reaped (a replay's workers are forked from a forkserver, which reaps them).
    `known` gathers the descendants seen, for the next call."""
    alive = _alive_descendants(known)
    known.update(alive)
    times = os.times()
    return times.children_user + times.children_system + sum(alive.values())


def _alive_descendants(known: Iterable[int] = ()) -> dict[int, float]:
    """Each Python process below this one, with its CPU and that of what it reaped; `known`
    ones are read even when the walk misses them. The walk goes through each thread's
    children, and the forkserver is the child of the thread that first started a worker:
    when that thread ends, the forkserver moves to another, and a walk at that moment did
    not see it (a replay's client CPU came out negative)."""
    found: dict[int, float] = {}
    pending = [os.getpid()]
    while pending:
        parent = pending.pop()
        try:
            children = [
                int(pid)
                for task in os.scandir(f"/proc/{parent}/task")
                for pid in Path(task.path, "children").read_text().split()
            ]
        except OSError:  # gone meanwhile
            continue
        for child in children:
            if (cpu := _python_cpu(child)) is not None:
                found[child] = cpu
                pending.append(child)
    for pid in set(known) - set(found):
        if (cpu := _python_cpu(pid)) is not None:
            found[pid] = cpu
    return found


def _python_cpu(pid: int) -> float | None:
    """The CPU of a live Python process and of the processes it reaped; None for another
    program (a broker or database server this run started is not ours) or a gone one."""
    try:
        if not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(PYTHON):
            return None
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return sum(int(f) for f in fields[11:15]) / CpuMeter.TICK


class CpuMeter:
    """CPU seconds over a timed window: of this process (all threads but the meter's own) and
    of the processes below it (a replay's worker processes), and of the
    PostgreSQL backends serving this database when the server runs on this
    machine. Backends are found in /proc by their process title (`postgres: USER DATABASE
    ...`) and sampled every 0.2 s, so one that a pool replaces mid-case is still counted."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, database_url: str) -> None:
        url = urlsplit(database_url)
        self.title = f"postgres: {url.username} {url.path.lstrip('/')} ".encode()
        self.others: set[int] = set()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.own_cpu = 0.0
        self.client = 0.0

    def start(self) -> None:
        self.first = self._backends()
        self.descendants: dict[int, float] = {}
        self.client = time.process_time() + _children_cpu(self.descendants)
        self.thread.start()

    def stop(self, events: int) -> dict[str, float]:
        self.done.set()
        self.thread.join()
        client = time.process_time() + _children_cpu(self.descendants) - self.client - self.own_cpu
        self.last.update(self._backends())
        found = {"client CPU µs/event": client / events * 1e6}
        if self.last:
            server = sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())
            found["server CPU µs/event"] = server / events * 1e6
        return found

    def _sample(self) -> None:
        while not self.done.wait(0.2):
            self.last.update(self._backends())
        self.own_cpu = time.thread_time()

    def _backends(self) -> dict[int, float]:
        found = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) in self.others:
                continue
            try:
                if not Path(entry.path, "cmdline").read_bytes().startswith(self.title):
                    self.others.add(int(entry.name))
                    continue
                fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
            except OSError:  # gone meanwhile
                continue
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / self.TICK
        return found


def machine_info(database_url: str, kafka: str, source: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "nproc": len(os.sched_getaffinity(0)),
        "memory": f"{_meminfo_kib('MemTotal') / 2**20:.1f} GiB",
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    info.update(asyncio.run(_postgres_info(database_url)))
    info["kafka"] = f"{_kafka_version()} at {kafka}"
    info["infrastructure"] = source
    info["code"] = code_version()
    info["libraries"] = ", ".join(
        f"{name} {_version(name)}"
        for name in ("asyncpg", "aiokafka", "eventsourcing", "psycopg", "pydantic")
    )
    info["load average at start"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    services = kinerja_services()
    info["Kinerja services beside it"] = (
        f"{len(services)} ({', '.join(services)}): their relays and runners take CPU from"
        " every case; `make down` before a run whose numbers count"
        if services
        else "none"
    )
    return info


def kinerja_services() -> list[str]:
    """The Kinerja service processes running on this machine (`make run` leaves them up
    beside the stack): idle, they still poll the store and the broker, about a twentieth of
    a core each, which a 2-core machine's benchmark feels."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
            found += [
                module.decode(errors="replace")
                for flag, module in itertools.pairwise(argv)
                if flag == b"-m" and module.startswith(b"services.")
            ]
    return sorted(found)


async def _postgres_info(database_url: str) -> dict[str, str]:
    connection = await asyncpg.connect(database_url)
    try:
        version = await connection.fetchval("SHOW server_version")
        settings = [
            f"{name}={await connection.fetchval(f'SHOW {name}')}"
            for name in ("fsync", "synchronous_commit", "shared_buffers", "wal_level")
        ]
    finally:
        await connection.close()
    return {"postgresql": f"{version} ({', '.join(settings)})"}


def code_version() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "shared", "pyproject.toml").splitlines()
    dirty = f" + uncommitted changes to {len(changed)} file(s) of shared/" if changed else ""
    return f"git {git('rev-parse', '--short', 'HEAD') or 'unknown'}{dirty}"


def _meminfo_kib(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _kafka_version() -> str:
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    return f"Kafka {found.group(1)}" if found else "Kafka (version unknown)"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"
