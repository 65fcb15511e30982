"""The journal's API stops its worker process: SIGTERM, then SIGKILL past the grace."""

import asyncio
import signal
import sys

import pytest

from services.journal import worker_process

DEAF = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True)"


@pytest.mark.parametrize(
    ("program", "code"),
    [("import time; print(1, flush=True); time.sleep(60)", -signal.SIGTERM),
     (DEAF + "; time.sleep(60)", -signal.SIGKILL)],
    ids=["stops when asked", "deaf to SIGTERM: killed after the grace"],
)  # fmt: skip
async def test_a_worker_asked_to_stop_ends_within_the_grace(
    monkeypatch: pytest.MonkeyPatch, program: str, code: int
) -> None:
    monkeypatch.setattr(worker_process, "STOP_GRACE_SECONDS", 0.5)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", program, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    await child.stdout.readline()  # its SIGTERM handling is set
    stop = asyncio.Event()
    stop.set()

    ended = await asyncio.wait_for(worker_process._until_ended(child, stop), 10)

    assert ended == code
