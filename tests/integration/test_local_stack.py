"""deploy/local itself: a second stack on other ports and another folder, up, up, down."""

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.processes import StackError, processes_mentioning
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack


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
