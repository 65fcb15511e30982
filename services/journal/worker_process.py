"""The journal's relay and read models in a process of their own, beside the API's: the two
then use two cores, where in one process they take turns on one (the month-end batch path
hashes in the API, and encodes and decodes in the relay and the read model)."""

import asyncio
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Sequence

from shared.process import Worker


def spawned(arguments: Sequence[str]) -> Worker:
    """A worker of the API's process that runs `python -m services.journal --worker-of PID
    ARGUMENTS` as its child: stopped with the service, and ending it if it ends alone."""

    async def run(stop: asyncio.Event) -> None:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.journal", f"--worker-of={os.getpid()}", *arguments
        )
        exited = asyncio.create_task(child.wait())
        asked = asyncio.create_task(stop.wait())
        await asyncio.wait({exited, asked}, return_when=asyncio.FIRST_COMPLETED)
        asked.cancel()
        if not exited.done():
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
        code = await exited
        # asked to stop before it had set its handlers, the child ends by SIGTERM itself
        if not stop.is_set() or code not in (0, -signal.SIGTERM):
            raise RuntimeError(f"the journal's worker process ended with exit code {code}")

    return run


async def run_alone(workers: Sequence[Worker], parent: int) -> None:
    """The child's side: the workers until SIGTERM or SIGINT, or until `parent` is gone; a
    worker that fails stops the others and is raised."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watch: Worker = functools.partial(_while_parent_lives, parent)
    tasks = [asyncio.create_task(worker(stop)) for worker in [*workers, watch]]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    await asyncio.gather(*tasks)


async def _while_parent_lives(parent: int, stop: asyncio.Event) -> None:
    # a parent killed outright (SIGKILL) cannot stop its child: the child, orphaned, sees
    # another parent (also when that happened before it got here)
    while not stop.is_set() and os.getppid() == parent:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
