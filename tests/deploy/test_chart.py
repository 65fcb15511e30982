"""The Helm chart: it renders, every core object is valid Kubernetes, and each workload is
probed, bounded, budgeted, hardened and fenced in."""

import subprocess
from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.deploy.chart import (
    CHART,
    KUBE_VERSIONS,
    LARGE_AGENCY,
    REQUIRED,
    Manifest,
    RenderFailed,
    containers,
    named,
    of_kind,
    render,
)
from tests.deploy.commands import service_names

# custom resources of the operators the chart relies on; the rest is core Kubernetes
OPERATOR_GROUPS = ("kafka.strimzi.io/", "postgresql.cnpg.io/", "barmancloud.cnpg.io/")
VALUES = {"default values": [], "large agency": [LARGE_AGENCY]}


def component(o: Manifest) -> str:
    labels: dict[str, str] = o["metadata"]["labels"]
    return labels.get("app.kubernetes.io/component", "")


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
def test_the_chart_lints_clean_for_the_kubernetes_versions_it_supports(
    helm_path: Path, values: list[Path]
) -> None:
    for version in KUBE_VERSIONS:
        command = [str(helm_path), "lint", "--strict", str(CHART), "--kube-version", version]
        command += [arg for path in values for arg in ("--values", str(path))]
        command += [arg for assignment in REQUIRED for arg in ("--set", assignment)]
        linted = subprocess.run(command, capture_output=True, text=True, check=False)
        assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("values", VALUES.values(), ids=VALUES.keys())
@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_core_object_validates_against_the_kubernetes_schemas(
    helm_path: Path, values: list[Path], version: str
) -> None:
    objects = render(values, kube_version=version, helm_path=helm_path)
    core = [o for o in objects if not o["apiVersion"].startswith(OPERATOR_GROUPS)]
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= {
        o["kind"] for o in core
    }
    for o in core:
        # strict: a misspelt or misplaced field is an error, as the API server's would be
        kubernetes_validate.validate(o, version, strict=True)


REFUSALS = {
    "more consumers than partitions": [*REQUIRED, "kafka.partitions=4"],
    "no key to verify tokens": ["jwt.existingSecret="],
    "another topic namespace": [*REQUIRED, "settings.topicNamespace=staging"],
    "fewer brokers than replicas": [*REQUIRED, "kafka.replicationFactor=4"],
}


@pytest.mark.parametrize("sets", REFUSALS.values(), ids=REFUSALS.keys())
def test_the_chart_refuses_what_would_fail_in_the_cluster(helm_path: Path, sets: list[str]) -> None:
    with pytest.raises(RenderFailed):
        render([LARGE_AGENCY], sets=sets, helm_path=helm_path)


def test_every_service_has_an_api_behind_a_service_with_an_autoscaler_and_a_migration_hook(
    rendered: list[Manifest],
) -> None:
    for service in service_names():
        api = named(rendered, "Deployment", f"kinerja-{service}-api")
        front = named(rendered, "Service", f"kinerja-{service}")
        assert front["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
        scaler = named(rendered, "HorizontalPodAutoscaler", f"kinerja-{service}-api")
        assert scaler["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        assert "replicas" not in api["spec"], "the autoscaler, not the chart, sets replicas"
        job = named(rendered, "Job", f"kinerja-{service}-migrate")
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-upgrade"
        [container] = job["spec"]["template"]["spec"]["containers"]
        assert container["args"][-2:] == ["--service", service]


def test_every_deployment_is_probed_bounded_and_budgeted(rendered: list[Manifest]) -> None:
    budgets = of_kind(rendered, "PodDisruptionBudget")
    for c in containers(rendered):
        for amount in ("requests", "limits"):
            assert {"cpu", "memory"} <= c.spec["resources"][amount].keys(), c.name
        if c.workload["kind"] != "Deployment":
            continue
        assert {"livenessProbe", "readinessProbe"} <= c.spec.keys(), c.name
        selector = c.workload["spec"]["selector"]["matchLabels"]
        assert any(b["spec"]["selector"]["matchLabels"] == selector for b in budgets), c.name


def test_every_pod_runs_unprivileged_on_a_read_only_root_without_a_token(
    rendered: list[Manifest],
) -> None:
    for c in containers(rendered):
        pod = c.workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, c.name
        assert pod["securityContext"]["runAsUser"] > 0, c.name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", c.name
        assert pod["automountServiceAccountToken"] is False, c.name
        context = c.spec["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, c.name
        assert context["allowPrivilegeEscalation"] is False, c.name
        assert context["capabilities"]["drop"] == ["ALL"], c.name
        assert {"name": "tmp", "mountPath": "/tmp"} in c.spec["volumeMounts"], c.name  # noqa: S108


def test_each_service_reaches_only_dns_kafka_and_its_own_database(
    rendered: list[Manifest],
) -> None:
    policies = of_kind(rendered, "NetworkPolicy")
    for service in service_names():
        [policy] = [p for p in policies if p["metadata"]["name"] == f"kinerja-{service}"]
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        assert spec["podSelector"]["matchLabels"]["kinerja/service"] == service
        kafka, database = spec["egress"][1]["to"], spec["egress"][2]["to"]
        assert len(spec["egress"]) == 3
        assert spec["egress"][0]["ports"][0]["port"] == 53
        assert kafka[0]["podSelector"]["matchLabels"]["strimzi.io/kind"] == "Kafka"
        assert database == [
            {"podSelector": {"matchLabels": {"cnpg.io/cluster": f"kinerja-{service}-db"}}}
        ]
        pods = [c for c in containers(rendered) if c.labels.get("kinerja/service") == service]
        assert pods
        assert all(spec["podSelector"]["matchLabels"].items() <= c.labels.items() for c in pods)
    # the one way further out: a service's background jobs that deliver email and webhooks
    for extra in policies:
        if extra["metadata"]["name"].removeprefix("kinerja-") not in service_names():
            assert extra["spec"]["policyTypes"] == ["Egress"]
            assert (
                extra["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                == "worker"
            )


def test_kafka_runs_in_kraft_with_three_brokers_reached_only_by_this_release(
    rendered: list[Manifest],
) -> None:
    [kafka] = of_kind(rendered, "Kafka")
    pools = [p for p in of_kind(rendered, "KafkaNodePool") if "broker" in p["spec"]["roles"]]
    assert sum(p["spec"]["replicas"] for p in pools) == 3
    assert any("controller" in p["spec"]["roles"] for p in of_kind(rendered, "KafkaNodePool"))
    assert "zookeeper" not in kafka["spec"]
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    [listener] = kafka["spec"]["kafka"]["listeners"]
    assert listener["networkPolicyPeers"][0]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "kinerja",
        "app.kubernetes.io/instance": "kinerja",
    }
    for pool in of_kind(rendered, "KafkaNodePool"):
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert pool["spec"]["storage"]["volumes"][0]["deleteClaim"] is False


def test_each_service_has_a_replicated_postgresql_cluster_backed_up_every_day(
    rendered: list[Manifest],
) -> None:
    [store] = of_kind(rendered, "ObjectStore")
    backups = of_kind(rendered, "ScheduledBackup")
    for service in service_names():
        cluster = named(rendered, "Cluster", f"kinerja-{service}-db")["spec"]
        assert cluster["instances"] >= 3
        assert cluster["bootstrap"]["initdb"] == {"database": "kinerja", "owner": "kinerja"}
        [archiver] = cluster["plugins"]
        assert archiver["isWALArchiver"] is True
        assert archiver["parameters"]["barmanObjectName"] == store["metadata"]["name"]
        [daily] = [b for b in backups if b["spec"]["cluster"]["name"] == f"kinerja-{service}-db"]
        assert daily["spec"]["method"] == "plugin"
        assert len(daily["spec"]["schedule"].split()) == 6
    assert store["spec"]["retentionPolicy"]
