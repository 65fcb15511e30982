"""The compose file for developers with Docker: it parses, and it names the same topics,
variables and commands as the code and the Helm chart."""

import re
from typing import Any

from tests.deploy.chart import ROOT, load_yaml
from tests.deploy.commands import run, service_names, settings_variables
from tests.deploy.test_manifests_follow_the_code import default_runs, used_topics

COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"


def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = load_yaml(COMPOSE)
    return parsed


def made_topics() -> dict[str, int]:
    [script] = compose()["services"]["topics"]["command"]
    return {topic: int(n) for topic, n in re.findall(r"^\s*make (\S+) (\d+)$", script, re.M)}


def test_compose_runs_kafka_postgresql_the_topics_the_migration_and_every_service() -> None:
    services = compose()["services"]
    assert {"kafka", "postgres", "topics", "migrate", *service_names()} <= services.keys()
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name in ("kafka", "postgres", *service_names()):
        assert services[name]["healthcheck"]["test"], name
    for name in service_names():
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert (
            services[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        )
    assert run(services["migrate"]["command"]).migrates == service_names()


def test_compose_makes_every_topic_the_code_uses_kept_forever() -> None:
    services = compose()["services"]
    partitions = int(services["migrate"]["environment"]["KINERJA_TOPIC_PARTITIONS"])
    made = made_topics()
    for topic, fixed in used_topics(list(default_runs().values())).items():
        assert made.get(topic) == (fixed or partitions), topic
    [script] = services["topics"]["command"]
    assert "retention.ms=-1" in script
    assert "retention.bytes=-1" in script


def test_every_variable_each_compose_process_reads_is_set() -> None:
    for name, service in compose()["services"].items():
        command = service.get("command", [])
        if command[:2] != ["python", "-m"]:
            continue
        environment = service["environment"]
        # a key without a value passes the shell's variable through, or leaves it unset
        literal = {k: str(v) for k, v in environment.items() if v is not None}
        read = run(command, literal)
        needed = set(read.envvars)
        for settings in read.settings:
            needed |= settings_variables(settings)
        missing = needed - environment.keys()
        assert not missing, f"compose service {name} reads {sorted(missing)}, unset there"
