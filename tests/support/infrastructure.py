"""Find a real Kafka broker and PostgreSQL server for the test session.

In this order: addresses given in the environment; testcontainers where a Docker
engine answers; else the project's own local stack (deploy/local), started for
the session and stopped after it unless it was already running.
"""

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg

from deploy.local.kafka import broker_answers
from deploy.local.stack import Stack

# under CI a test that cannot reach what it needs fails; it never skips
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
KAFKA_VARIABLE = "KINERJA_KAFKA_BOOTSTRAP_SERVERS"
DATABASE_VARIABLE = "KINERJA_DATABASE_URL"
KEEP_STACK_VARIABLE = "KINERJA_TEST_KEEP_STACK"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
POSTGRES_IMAGE = "postgres:15"


class InfrastructureUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Infrastructure:
    kafka_bootstrap_servers: str
    database_url: str
    source: str


@contextmanager
def provide() -> Iterator[Infrastructure]:
    found = _from_environment()
    if found is not None:
        yield found
    elif _docker_answers():
        with _from_testcontainers() as found:
            yield found
    else:
        with _from_local_stack() as found:
            yield found


def _from_environment() -> Infrastructure | None:
    kafka, database = os.environ.get(KAFKA_VARIABLE), os.environ.get(DATABASE_VARIABLE)
    if kafka and database:
        return Infrastructure(kafka, database, source="environment")
    if kafka or database:
        raise InfrastructureUnavailable(
            f"set both {KAFKA_VARIABLE} and {DATABASE_VARIABLE}, or neither"
        )
    return None


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # any failure to reach an engine means: no Docker here
        return False
    return True


@contextmanager
def _from_testcontainers() -> Iterator[Infrastructure]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    with (
        KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka,
        PostgresContainer(POSTGRES_IMAGE, driver=None) as postgres,
    ):
        yield Infrastructure(
            kafka.get_bootstrap_server(), postgres.get_connection_url(), source="testcontainers"
        )


@contextmanager
def _from_local_stack() -> Iterator[Infrastructure]:
    stack = Stack()
    was_up = stack.is_up()
    stack.up()
    try:
        yield Infrastructure(
            stack.addresses.kafka_bootstrap_servers,
            stack.addresses.database_url,
            source="local stack (deploy/local)" + (", already running" if was_up else ""),
        )
    finally:
        if not was_up and not os.environ.get(KEEP_STACK_VARIABLE):
            stack.down()


def check_reachable(infrastructure: Infrastructure) -> None:
    """Raise InfrastructureUnavailable unless both servers answer."""
    if not asyncio.run(broker_answers(infrastructure.kafka_bootstrap_servers)):
        raise InfrastructureUnavailable(
            f"Kafka at {infrastructure.kafka_bootstrap_servers} ({infrastructure.source}) "
            "does not answer"
        )
    try:
        asyncio.run(_select_one(infrastructure.database_url))
    except (OSError, asyncpg.PostgresError) as error:
        raise InfrastructureUnavailable(
            f"PostgreSQL at {infrastructure.database_url} ({infrastructure.source}): {error}"
        ) from error


async def _select_one(database_url: str) -> None:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        await connection.fetchval("SELECT 1")
    finally:
        await connection.close()
