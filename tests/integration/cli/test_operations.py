"""The operator's commands on real Kafka and PostgreSQL, each on a topic namespace of its own:
`replay` by name, `dlq list` and `redrive`, `status`, `import-roster`, and the one line a
command says when its infrastructure is not there."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.targets.projections import TargetsBoard
from shared.contracts.targets import UnitCreated
from shared.events.envelope import Envelope
from shared.events.kafka_binding import to_record
from shared.projections.dead_letters import send_dead_letters
from shared.relay.topics import TopicSpec, ensure_topics, service_topic
from shared.store.event_store import CommandContext, EventStore
from tests.support.cli import kinerja
from tests.support.kafka import Consumed

NIP = "199001012015031001"


@pytest.fixture
def env(database_url: str, kafka_bootstrap_servers: str) -> dict[str, str]:
    """The settings of a system of its own: topics under a fresh namespace."""
    return {
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KINERJA_TOPIC_NAMESPACE": f"cli-{uuid.uuid4().hex[:8]}",
    }


async def units(pool: asyncpg.Pool, *codes: str) -> list[Envelope]:
    store = EventStore(pool, "targets")
    await store.migrate()
    context = CommandContext("admin:test", "test", datetime.now(UTC))
    return [
        (await store.append(f"unit-{code}", 0, [event], subject=f"unit:{code}", context=context))[0]
        for code in codes
        for event in [UnitCreated(code=code, name=f"Unit {code}", parent_code=None)]
    ]


async def published(bootstrap_servers: str, topic: str, envelopes: list[Envelope]) -> None:
    """As the targets relay publishes them."""
    await ensure_topics(bootstrap_servers, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            record = to_record(envelope)
            await producer.send_and_wait(topic, record.value, record.key, headers=record.headers)
    finally:
        await producer.stop()


async def test_replay_by_name_rebuilds_the_read_model_and_an_unknown_name_lists_the_known(
    pool: asyncpg.Pool, env: dict[str, str], kafka_bootstrap_servers: str
) -> None:
    namespace, codes = env["KINERJA_TOPIC_NAMESPACE"], [f"U{uuid.uuid4().hex[:6]}" for _ in "ab"]
    await published(
        kafka_bootstrap_servers, service_topic("targets", namespace), await units(pool, *codes)
    )

    listed = await kinerja(env, "replay", "--list")
    # the topic has two partitions: a worker process for each
    replayed = await kinerja(env, "replay", "targets.board", "--workers", "2")
    unknown = await kinerja(env, "replay", "targets.bored")

    assert listed.exit_code == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "targets.board", "journal.targets", "journal.entries", "appraisal.targets",
        "appraisal.journal", "appraisal.results", "notify.inbox",
    ]  # fmt: skip
    assert replayed.exit_code == 0, replayed.output
    assert "replayed targets.board: 2 messages" in replayed.stdout
    assert "2 processes" in replayed.stdout
    rebuilt = await pool.fetch(
        "SELECT code FROM proj_targets_board.units WHERE code = ANY($1) ORDER BY code", codes
    )
    assert [row["code"] for row in rebuilt] == sorted(codes)
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("replay: no projection named 'targets.bored'; there are:")
    assert "appraisal.results" in unknown.stderr


async def test_replay_of_a_topic_never_published_says_so_and_builds_nothing(
    pool: asyncpg.Pool, env: dict[str, str]
) -> None:
    answer = await kinerja(env, "replay", "appraisal.results")

    assert answer.exit_code == 2
    assert f"no topic {env['KINERJA_TOPIC_NAMESPACE']}.appraisal.v1" in answer.stderr
    assert not await pool.fetchval(
        "SELECT 1 FROM pg_namespace WHERE nspname = 'proj_appraisal_results__next'"
    )


async def test_dlq_list_of_empty_groups_shows_nothing_and_a_dead_letter_is_listed_then_redriven(
    pool: asyncpg.Pool, env: dict[str, str], kafka_bootstrap_servers: str
) -> None:
    namespace, code = env["KINERJA_TOPIC_NAMESPACE"], f"U{uuid.uuid4().hex[:6]}"
    board = TargetsBoard(namespace)
    empty = await kinerja(env, "dlq", "list")
    empty_json = await kinerja(env, "dlq", "list", "--format", "json")
    [envelope] = await units(pool, code)
    record = to_record(envelope)
    failed = Consumed(board.topics[0], 0, 7, record.key, record.value, record.headers)
    await ensure_topics(kafka_bootstrap_servers, [TopicSpec(f"{namespace}.dlq.targets.board", 1)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    try:
        await send_dead_letters(producer, board, [failed], "failed", "RuntimeError('boom')")
    finally:
        await producer.stop()

    waiting = await kinerja(env, "dlq", "list", "--format", "json")
    redriven = await kinerja(env, "dlq", "redrive", "targets.board")
    after = await kinerja(env, "dlq", "list", "--projection", "targets.board")
    everything = await kinerja(env, "dlq", "list", "--all", "--format", "json")

    assert (empty.exit_code, empty.stdout, empty.stderr) == (0, "", "no dead letters\n")
    assert json.loads(empty_json.stdout) == []
    [letter] = json.loads(waiting.stdout)
    assert (letter["projection"], letter["stream_id"], letter["stream_version"]) == (
        "targets.board", f"unit-{code}", "1"
    )  # fmt: skip
    assert (letter["origin"], letter["error"], letter["redriven"]) == (
        f"{board.topics[0]}/0@7", "RuntimeError('boom')", False
    )  # fmt: skip
    assert redriven.exit_code == 0, redriven.output
    assert "targets.board: applied 1, duplicates 0, unreadable 0" in redriven.stdout
    assert await pool.fetchval("SELECT name FROM proj_targets_board.units WHERE code = $1", code)
    assert (after.exit_code, after.stdout) == (0, "")
    assert [d["redriven"] for d in json.loads(everything.stdout)] == [True]


async def test_status_shows_services_relays_and_read_models(
    pool: asyncpg.Pool, env: dict[str, str]
) -> None:
    await units(pool, f"U{uuid.uuid4().hex[:6]}")
    closed = [
        f"--service-url={s}=http://127.0.0.1:1"
        for s in ("targets", "journal", "appraisal", "notify")
    ]

    answer = await kinerja(env, "status", *closed)

    assert answer.exit_code == 1, answer.output  # services not up here: not all well
    assert "unreachable (ConnectError)" in answer.stdout
    assert "unpublished" in answer.stdout  # the targets store, whose relay never ran here
    for projection in ("targets.board", "appraisal.results", "notify.inbox"):
        assert projection in answer.stdout


async def test_import_roster_registers_the_csv_through_the_targets_import(
    pool: asyncpg.Pool, env: dict[str, str], tmp_path: Path
) -> None:
    await units(pool, code := f"U{uuid.uuid4().hex[:6]}")
    nip = unused_nip()
    roster = tmp_path / "roster.csv"
    roster.write_text(f"nip,name,position,unit_code,job_type\n{nip},Andi,Analis,{code},FUNGSIONAL\n"
                      f"1990,Bad,Analis,{code},FUNGSIONAL\n")  # fmt: skip

    answer = await kinerja(env, "import-roster", str(roster), "--actor", "admin:rina")

    assert answer.exit_code == 1, answer.output  # one row refused
    assert "registered 1" in answer.stdout
    assert "line 3: nip" in answer.stderr
    actor = await pool.fetchval(
        "SELECT actor FROM targets.events WHERE stream_id = $1", f"employee-{nip}"
    )
    assert actor == "admin:rina"


def unused_nip() -> str:
    """A well-formed NIP no earlier run registered: a random birth day and sequence."""
    n = uuid.uuid4().int
    return f"1990{n % 12 + 1:02d}{n % 28 + 1:02d}201503{n % 2 + 1}{n % 999 + 1:03d}"


@pytest.mark.parametrize(
    ("command", "away", "said"),
    [
        (["history", "--nip", NIP], "database", "history: cannot reach the database at"),
        (["export", "--year", "2026"], "database", "export: cannot reach the database at"),
        (["dlq", "list"], "database", "dlq list: cannot reach the database at"),
        (["status"], "database", "status: cannot reach the database at"),
        (["verify", "--no-topics"], "database", "verify: could not run: cannot reach the database"),
        (["replay", "targets.board"], "kafka", "replay: could not run: KafkaConnectionError"),
        (["dlq", "redrive", "all"], "kafka", "dlq redrive: could not run: KafkaConnectionError"),
        (["status"], "kafka", "status: cannot reach Kafka at 127.0.0.1:1"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, list) else value,
)  # fmt: skip
async def test_unreachable_infrastructure_is_one_line_and_exit_2(
    env: dict[str, str], command: list[str], away: str, said: str
) -> None:
    gone = {"database": {"KINERJA_DATABASE_URL": "postgresql://k:k@127.0.0.1:1/k"},
            "kafka": {"KINERJA_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}}[away]  # fmt: skip

    answer = await kinerja({**env, **gone}, *command)

    assert answer.exit_code == 2, answer.output
    assert said in answer.stderr.strip().splitlines()[-1]  # after any progress shown
    assert "Traceback" not in answer.output
