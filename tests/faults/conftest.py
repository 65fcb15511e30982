"""A private Kafka broker and PostgreSQL cluster for the fault suite, never the shared stack:
this suite restarts PostgreSQL and stops the broker, which would break every other test run
on the shared one. Started once for the session on free ports in a folder of its own (the
jars come from the shared cache, so nothing is downloaded), and removed after."""

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.local.processes import StackError, processes_mentioning
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from tests.support.infrastructure import IN_CI
from tests.support.metrics import free_port

# set to keep the private stack's folder (its PostgreSQL and Kafka logs) after the session
KEEP_VARIABLE = "KINERJA_FAULTS_KEEP_STACK"


@dataclass(frozen=True)
class PrivateStack:
    """The suite's own stack, and the faults it injects into it."""

    stack: Stack

    @property
    def settings(self) -> StackSettings:
        return self.stack.settings

    @property
    def admin_url(self) -> str:
        return self.settings.database_url

    @property
    def kafka_bootstrap_servers(self) -> str:
        return self.settings.kafka_bootstrap_servers

    def database_url(self, name: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def restart_postgres(self, down_seconds: float = 3.0) -> float:
        """The private cluster stopped (`pg_ctl stop -m fast`: every connection cut), left
        down `down_seconds`, then started again, as an operator's restart or a failover does
        (the issue saw a 3.2 s outage); the seconds it was away. Blocking."""
        postgres = self.stack.postgres
        started = time.monotonic()
        postgres.down()
        time.sleep(down_seconds)
        postgres.up()
        return time.monotonic() - started

    def stop_broker(self) -> None:
        """Blocking: the broker ended (SIGTERM, then SIGKILL after a grace period)."""
        self.stack.kafka.down()

    def start_broker(self) -> None:
        """Blocking: until the broker answers a metadata request again."""
        self.stack.kafka.up()


@pytest.fixture(scope="session")
def private_stack() -> Iterator[PrivateStack]:
    # not pytest's tmp_path: that is private to root, and the postgres account must reach it
    home = Path(tempfile.mkdtemp(prefix="kinerja-faults-"))
    home.chmod(0o755)
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(free_port())
    kafka_port, controller_port, postgres_port = sorted(ports)
    stack = Stack(
        StackSettings(
            home=home,
            kafka_port=kafka_port,
            kafka_controller_port=controller_port,
            postgres_port=postgres_port,
        )
    )
    started = time.monotonic()
    try:
        stack.up()
    except StackError as error:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)
        if IN_CI:
            pytest.fail(f"CI=true and the fault suite's private stack did not start: {error}")
        pytest.skip(f"the fault suite's private stack did not start: {error}")
    print(
        f"\nfault suite: private stack in {home} (kafka {stack.settings.kafka_bootstrap_servers},"
        f" postgres port {postgres_port}) up in {time.monotonic() - started:.1f}s"
    )
    try:
        yield PrivateStack(stack)
    finally:
        stack.down()
        left = list(processes_mentioning(str(home)))
        if not os.environ.get(KEEP_VARIABLE):
            shutil.rmtree(home, ignore_errors=True)
        assert left == [], f"processes of the private stack left behind: {left}"
