"""deploy/local itself: a second stack on other ports and another folder, up, up, down; and
the supervisor that keeps `make run`'s services running."""

import os
import shutil
import signal
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deploy.local import system
from deploy.local.processes import StackError, is_alive, processes_mentioning, wait_until
from deploy.local.services import Service, wait_ready
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from deploy.local.supervisor import Supervisor


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def private_stack() -> Iterator[Stack]:
    # not pytest's tmp_path: that is private to root, and the postgres account must reach it
    home = Path(tempfile.mkdtemp(prefix="kinerja-stack-"))
    home.chmod(0o755)
    yield Stack(
        StackSettings(
            home=home,
            kafka_port=_free_port(),
            kafka_controller_port=_free_port(),
            postgres_port=_free_port(),
        )
    )
    shutil.rmtree(home, ignore_errors=True)


def test_up_twice_is_harmless_and_down_leaves_no_process_behind(private_stack: Stack) -> None:
    try:
        assert private_stack.up() == {"postgres": "started", "kafka": "started"}
        assert private_stack.is_up()

        assert private_stack.up() == {"postgres": "already running", "kafka": "already running"}
    finally:
        private_stack.down()

    assert not private_stack.is_up()
    assert list(processes_mentioning(str(private_stack.settings.home))) == []


def test_a_taken_port_is_named_in_the_error(private_stack: Stack) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", private_stack.settings.kafka_port))
        squatter.listen()
        try:
            taken = f"port 127.0.0.1:{private_stack.settings.kafka_port} is taken"
            with pytest.raises(StackError, match=taken):
                private_stack.up()
        finally:
            private_stack.down()
    assert list(processes_mentioning(str(private_stack.settings.home))) == []


def test_a_service_killed_outright_is_started_again_and_down_leaves_nothing(
    database_url: str, kafka_bootstrap_servers: str
) -> None:
    """The supervisor of `make run`, in a home of its own, running the targets service against
    the session's broker and database (on a topic namespace of its own; the stack itself is
    not this test's to stop)."""
    home = Path(tempfile.mkdtemp(prefix="kinerja-supervised-"))
    settings = StackSettings(home=home)
    port = _free_port()
    env = {
        **os.environ,
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KINERJA_TOPIC_NAMESPACE": f"supervised-{uuid.uuid4().hex[:8]}",
        "KINERJA_STACK_HOME": str(home),
        "KINERJA_TARGETS_PORT": str(port),
    }
    targets = Service("targets", port, settings)
    supervisor = Supervisor(settings)
    first = second = None
    try:
        assert supervisor.start(env, [targets]) == "started"
        wait_ready([targets], timeout=30)
        assert supervisor.start(env, [targets]) == "already running"  # a second `make run`
        first = targets.running_pid()
        assert first is not None

        os.kill(first, signal.SIGKILL)
        assert wait_until(lambda: targets.running_pid() not in (None, first), 15, 0.1)
        wait_ready([targets], timeout=30)
        second = targets.running_pid()

        state = supervisor.service("targets")
        assert (state["state"], state["pid"], state["restarts"]) == ("running", second, 1)
        assert state["last_exit_code"] == -signal.SIGKILL
        # `make status`, in this process (a new interpreter takes seconds to import it)
        shown = CliRunner().invoke(system.app, ["status"], env=env).output
        [line] = [line for line in shown.splitlines() if line.startswith("targets ")]
        assert line.split()[:3] == ["targets", "ready", "pid"], shown
        assert f"pid {second}  restarts 1 (last exit -9 at " in line, shown
        assert f"supervisor running    pid {supervisor.running_pid()}" in shown, shown
    finally:
        supervisor.stop()
        shutil.rmtree(home, ignore_errors=True)

    assert supervisor.running_pid() is None
    assert [pid for pid in (first, second) if pid and is_alive(pid)] == []
    assert list(processes_mentioning(" ".join(targets.command[1:]))) == []
    assert list(processes_mentioning(str(home))) == []
