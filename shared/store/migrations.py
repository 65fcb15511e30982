"""Ordered SQL migrations, applied once per schema and recorded there."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import structlog

from shared.store.db import Connection

log = structlog.get_logger(__name__)

KIT_MIGRATIONS = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def load(folder: Path) -> list[Migration]:
    """`NNNN_name.sql` files of a folder, in order; numbers must be unique."""
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        if not number.isdigit():
            raise MigrationError(f"{path.name}: a migration file is named NNNN_name.sql")
        migrations.append(Migration(int(number), name, path.read_text()))
    numbers = [m.version for m in migrations]
    if len(set(numbers)) != len(numbers):
        raise MigrationError(f"{folder}: two migrations share a number")
    return migrations


def quote_identifier(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name.isascii():
        raise ValueError(f"{name!r} is not a plain identifier")
    return f'"{name}"'


async def migrate(connection: Connection, schema: str, migrations: list[Migration]) -> int:
    """Apply what is missing, all in one transaction; returns how many ran.

    An edited migration that already ran is refused: history is append-only here too.
    """
    quoted = quote_identifier(schema)
    applied_count = 0
    # one migrator per schema at a time, even with many replicas starting together
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {quoted}.schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            row["version"]: row["checksum"]
            for row in await connection.fetch(
                f"SELECT version, checksum FROM {quoted}.schema_migrations"
            )
        }
        for migration in migrations:
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version}_{migration.name} of schema {schema} was "
                        "edited after it ran; add a new migration instead"
                    )
                continue
            await connection.execute(f"SET LOCAL search_path TO {quoted}")
            await connection.execute(migration.sql)
            await connection.execute(
                f"INSERT INTO {quoted}.schema_migrations (version, name, checksum)"
                " VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
            log.info(
                "migration.applied", schema=schema, version=migration.version, name=migration.name
            )
            applied_count += 1
    return applied_count
