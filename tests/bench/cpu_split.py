"""Where a timed window's CPU went on this machine: per process of the system under test
(each service and its worker processes, this database's PostgreSQL backends, the Kafka
broker of the local stack, the benchmark itself) and the rest of the machine, from /proc."""

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.bench.environment import ROOT

TICK = os.sysconf("SC_CLK_TCK")
KAFKA_PID_FILE = ROOT / ".cache" / "stack" / "kafka" / "kafka.pid"
Groups = dict[str, float]


class CpuSplit:
    """CPU seconds per group between `start()` and `stop()`. `services` maps a group name to
    the PID of a service process; the children of those named in `workers_of` (a worker
    process) are counted as `<name> workers`. PostgreSQL backends are found by their title
    (`postgres: USER DB`)."""

    def __init__(
        self, database_url: str, services: dict[str, int], workers_of: tuple[str, ...] = ()
    ) -> None:
        url = urlsplit(database_url)
        self.backend_title = f"postgres: {url.username} {url.path.lstrip('/')} ".encode()
        self.services = services
        self.workers_of = workers_of
        self.first: Groups = {}
        self.machine_first = 0.0
        self.wall = 0.0

    def start(self) -> None:
        self.first = self._groups()
        self.machine_first = _machine_busy()
        self.wall = time.perf_counter()

    def stop(self, per: int) -> dict[str, float]:
        """CPU µs per item of each group and of the rest of the machine, and how busy the
        machine was (% of all its cores)."""
        last, busy = self._groups(), _machine_busy() - self.machine_first
        wall = time.perf_counter() - self.wall
        spent = {name: last[name] - self.first.get(name, 0.0) for name in last}
        found = {f"{name} µs": seconds / per * 1e6 for name, seconds in spent.items()}
        found["rest µs"] = (busy - sum(spent.values())) / per * 1e6
        found["busy %"] = busy / (wall * len(os.sched_getaffinity(0))) * 100
        return found

    def _groups(self) -> Groups:
        parents = {pid: name for name, pid in self.services.items()}
        groups: Groups = {}
        for name in self.services:
            groups[name] = 0.0
            if name in self.workers_of:
                groups[f"{name} workers"] = 0.0
        groups |= {"PostgreSQL": 0.0, "Kafka": 0.0, "bench": _cpu(os.getpid()) or 0.0}
        kafka = _kafka_pid()
        if kafka:
            groups["Kafka"] = _cpu(kafka) or 0.0
        else:
            del groups["Kafka"]  # not the local stack's: not on this machine, or not found
        for pid, parent, title in _processes():
            if pid in parents:
                name = parents[pid]
            elif parent in parents and parents[parent] in self.workers_of:
                name = f"{parents[parent]} workers"
            elif title.startswith(self.backend_title):
                name = "PostgreSQL"
            else:
                continue
            groups[name] = groups.get(name, 0.0) + (_cpu(pid) or 0.0)
        return groups


def service_pid(module: str, port: int) -> int:
    """The process serving `python -m MODULE --port PORT`."""
    wanted = [b"-m", module.encode(), b"--port", str(port).encode()]
    for pid, _, title in _processes():
        arguments = title.split(b"\0")
        if any(arguments[i : i + 4] == wanted for i in range(len(arguments))):
            return pid
    raise LookupError(f"no process runs {module} on port {port}")


def _processes() -> list[tuple[int, int, bytes]]:
    """(pid, parent pid, command line) of every process."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
                title = Path(entry.path, "cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
            found.append((int(entry.name), int(stat[1]), title))
    return found


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def _machine_busy() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICK  # all but idle and iowait


def _kafka_pid() -> int | None:
    try:
        pid = int(KAFKA_PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _cpu(pid) is not None else None
