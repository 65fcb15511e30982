"""`python -m shared.migrate`: the migration Job's and compose's one-shot command."""

import importlib
import os
import subprocess
import sys

import asyncpg
import pytest

from shared.migrate import service_names

pytestmark = pytest.mark.integration


def migrate(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"KINERJA_DATABASE_URL": database_url, "KINERJA_LOG_JSON": "true"}
    return subprocess.run(
        [sys.executable, "-m", "shared.migrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def schemas(database_url: str) -> set[str]:
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch("SELECT nspname FROM pg_namespace")
    finally:
        await connection.close()
    return {row["nspname"] for row in rows}


def expected_schemas(service: str) -> set[str]:
    """The service's own schema and the live schema of each read model it keeps."""
    module = importlib.import_module(f"services.{service}.entrypoints.app")
    return {service} | {p.schema() for p in module.projections("kinerja")}


async def test_every_service_schema_is_migrated_without_serving_and_a_second_run_changes_nothing(
    database_url: str,
) -> None:
    first = migrate(database_url, "--all")
    assert first.returncode == 0, first.stderr
    made = await schemas(database_url)
    for service in service_names():
        assert expected_schemas(service) <= made, service

    again = migrate(database_url, "--service", "journal", "--service", "targets")
    assert again.returncode == 0, again.stderr
    assert "migration.applied" not in again.stdout + again.stderr
    assert await schemas(database_url) == made


def test_an_unknown_service_is_refused_with_the_known_ones_named() -> None:
    refused = migrate("postgresql://nobody@127.0.0.1:1/none", "--service", "payroll")
    assert refused.returncode == 2
    assert all(name in refused.stderr for name in service_names())


def test_an_unreachable_database_fails_the_job() -> None:
    failed = migrate(
        "postgresql://nobody:x@127.0.0.1:1/none", "--service", "targets", "--wait-seconds", "2"
    )
    assert failed.returncode != 0
