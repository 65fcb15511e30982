"""Replay a projection beside its live runner and compare: the rebuilt read model must equal
the live one it replaced, table by table, row by row."""

from typing import Any

import asyncpg

from shared.projections.projection import Projection
from shared.projections.replay import replay

ReadModel = dict[str, list[tuple[Any, ...]]]


async def read_model(pool: asyncpg.Pool, projection: Projection) -> ReadModel:
    """Every row of the projection's own tables (not the runner's bookkeeping), sorted."""
    schema = projection.schema()
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1"
        " AND table_name NOT LIKE '\\_%' ORDER BY table_name",
        schema,
    )
    model: ReadModel = {}
    for table in tables:
        rows = await pool.fetch(f'SELECT * FROM "{schema}"."{table["table_name"]}"')
        model[table["table_name"]] = sorted((tuple(r.values()) for r in rows), key=repr)
    return model


async def replay_and_compare(
    projection: Projection, pool: asyncpg.Pool, bootstrap_servers: str
) -> tuple[ReadModel, ReadModel]:
    """The live read model, then the one replay rebuilt from the topics and switched in."""
    live = await read_model(pool, projection)
    await replay(projection, pool, bootstrap_servers)
    return live, await read_model(pool, projection)
