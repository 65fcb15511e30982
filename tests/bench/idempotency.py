"""What an `Idempotency-Key` costs a POST that appends one event: keyed against unkeyed POSTs
to the same route of an app made by `create_app`, in this process (httpx's ASGI transport, no
sockets), one at a time and eight at once, rounds interleaved. A scratch measure, run by hand
against the local stack's PostgreSQL (not part of `make bench`, which has no goal for it yet):

    .venv/bin/python -m tests.bench.idempotency [--requests 600] [--rounds 3]

The client and the server share one core here, so rates are low and drift with the machine:
read the keyed/unkeyed ratio of each round, not the rates.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Annotated, Any

import asyncpg
import httpx
from fastapi import APIRouter, Depends
from pydantic import SecretStr

from deploy.local.settings import StackSettings
from shared.domain.identity import Identity
from shared.http.app import create_app
from shared.http.auth import JwtSettings, current_identity, issue_token
from shared.http.idempotency_keys import migrate_idempotency
from shared.observability.logging import configure_logging
from shared.store.event_store import EventStore
from tests.support.events import TargetSet, context

SETTINGS = JwtSettings(secret=SecretStr("a-bench-secret-of-at-least-32-bytes!"))
NIP = "199001012015031001"


async def measure(database_url: str, requests: int, rounds: int) -> None:
    pool = await asyncpg.create_pool(database_url, max_size=20)
    schema = f"bench_keys_{uuid.uuid4().hex[:8]}"
    store = EventStore(pool, schema)
    await store.migrate()
    async with pool.acquire() as connection:
        await migrate_idempotency(connection, schema)
    router = APIRouter()

    @router.post("/progress", status_code=201)
    async def record(identity: Annotated[Identity, Depends(current_identity)]) -> dict[str, Any]:
        stream = f"progress-{uuid.uuid4().hex}"
        event = TargetSet(indicator="i-1", target=1)
        await store.append(stream, 0, [event], subject=NIP, context=context())
        return {"stream": stream}

    app = create_app(
        service=schema, title="bench", version="0", description="bench", routers=[router],
        pool_getter=lambda: pool, jwt=SETTINGS,
    )  # fmt: skip
    token = {"Authorization": f"Bearer {issue_token(NIP, settings=SETTINGS)}"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def rate(keyed: bool, count: int, together: int) -> float:
                async def one() -> None:
                    key = {"Idempotency-Key": uuid.uuid4().hex} if keyed else {}
                    answer = await client.post("/progress", headers={**token, **key})
                    assert answer.status_code == 201, answer.text

                started = time.perf_counter()
                for _ in range(0, count, together):
                    await asyncio.gather(*(one() for _ in range(together)))
                return count / (time.perf_counter() - started)

            await rate(True, 100, 1)  # warm: connections, code paths
            await rate(False, 100, 1)
            for together in (1, 8):
                ratios = []
                for number in range(rounds):
                    keyed = await rate(True, requests, together)
                    unkeyed = await rate(False, requests, together)
                    ratios.append(keyed / unkeyed)
                    print(
                        f"{together} at once, round {number + 1}: keyed {keyed:,.0f}/s,"
                        f" unkeyed {unkeyed:,.0f}/s, ratio {keyed / unkeyed:.2f}"
                    )
                print(f"{together} at once: median ratio {statistics.median(ratios):.2f}")
    finally:
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=StackSettings().database_url)
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    asyncio.run(measure(args.database_url, args.requests, args.rounds))


if __name__ == "__main__":
    main()
