"""The `kinerja` command as a shell runs it, from async tests."""

import asyncio

from typer.testing import CliRunner, Result

from shared.cli.main import app


async def kinerja(env: dict[str, str], *arguments: str) -> Result:
    """The command on a thread of its own (it runs its own event loop), with `env` as its
    environment."""

    def invoke() -> Result:
        return CliRunner().invoke(app, list(arguments), env=env)

    return await asyncio.to_thread(invoke)
