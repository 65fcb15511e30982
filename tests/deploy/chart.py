"""The Helm chart rendered offline, and the rendered objects read back.

python -m tests.deploy.chart [VALUES.yaml ...]   # the summary SIZING.md quotes
"""

import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "k8s" / "kinerja"
LARGE_AGENCY = ROOT / "deploy" / "k8s" / "large-agency" / "values.yaml"
# the oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a current one
KUBE_VERSIONS = ("1.30.0", "1.37.0")
# what a render needs besides the values files: a Secret with the token key
REQUIRED = ("jwt.existingSecret=kinerja-jwt",)

Manifest = dict[str, Any]


class RenderFailed(Exception):
    pass


def helm() -> Path:
    """The pinned helm, built once into .cache/tools by deploy/k8s/install-helm.sh."""
    built = subprocess.run(
        ["bash", str(ROOT / "deploy" / "k8s" / "install-helm.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    if built.returncode != 0:
        raise RenderFailed(f"helm could not be had: {built.stderr.strip()}")
    return Path(built.stdout.strip().splitlines()[-1])


def render(
    values: Sequence[Path] = (),
    sets: Sequence[str] = REQUIRED,
    kube_version: str = KUBE_VERSIONS[-1],
    helm_path: Path | None = None,
) -> list[Manifest]:
    """`helm template` of the chart, hooks included, as a list of objects."""
    command = [str(helm_path or helm()), "template", "kinerja", str(CHART)]
    command += ["--namespace", "kinerja", "--kube-version", kube_version]
    for path in values:
        command += ["--values", str(path)]
    for assignment in sets:
        command += ["--set", assignment]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise RenderFailed(done.stderr.strip())
    return [doc for doc in yaml.load_all(done.stdout, Loader=StrictLoader) if doc]


class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML as the API server reads it: a key given twice is an error, not a silent overwrite."""


def _mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    merge = "tag:yaml.org,2002:merge"  # `<<: *anchor` brings keys that explicit ones override
    keys = [loader.construct_object(key) for key, _ in node.value if key.tag != merge]
    twice = {key for key in keys if keys.count(key) > 1}
    if twice:
        raise yaml.constructor.ConstructorError(None, None, f"{twice} twice", node.start_mark)
    mapping: dict[Any, Any] = loader.construct_mapping(node)
    return mapping


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=StrictLoader)  # noqa: S506 (a SafeLoader)


def of_kind(objects: Sequence[Manifest], *kinds: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] in kinds]


def named(objects: Sequence[Manifest], kind: str, name: str) -> Manifest:
    [found] = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


@dataclass(frozen=True)
class Container:
    """A container of a workload, with what identifies it in a failure message."""

    workload: Manifest
    spec: Manifest

    @property
    def name(self) -> str:
        return f"{self.workload['kind']} {self.workload['metadata']['name']}/{self.spec['name']}"

    @property
    def labels(self) -> dict[str, str]:
        labels: dict[str, str] = self.workload["spec"]["template"]["metadata"]["labels"]
        return labels

    @property
    def args(self) -> list[str]:
        return [str(arg) for arg in self.spec.get("args", [])]

    @property
    def env(self) -> dict[str, Manifest]:
        return {entry["name"]: entry for entry in self.spec.get("env", [])}

    def literal_env(self) -> dict[str, str]:
        return {name: str(e["value"]) for name, e in self.env.items() if "value" in e}


def containers(objects: Sequence[Manifest]) -> Iterator[Container]:
    for workload in of_kind(objects, "Deployment", "Job", "StatefulSet", "DaemonSet"):
        for spec in workload["spec"]["template"]["spec"]["containers"]:
            yield Container(workload, spec)


def summary(objects: Sequence[Manifest]) -> str:
    """Replicas, partitions and resources of a render, as the Markdown table SIZING.md quotes."""
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]
        for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    rows = [
        "| workload | replicas | requests (cpu, memory) | limits (cpu, memory) |",
        "|---|--:|---|---|",
    ]
    for c in containers(objects):
        if c.workload["kind"] != "Deployment":
            continue
        name = c.workload["metadata"]["name"]
        scale = hpas.get(name)
        replicas = (
            f"{scale['minReplicas']}-{scale['maxReplicas']}"
            if scale
            else str(c.workload["spec"]["replicas"])
        )
        rows.append(
            f"| {name} | {replicas} | {_pair(c.spec, 'requests')} | {_pair(c.spec, 'limits')} |"
        )
    for pool in of_kind(objects, "KafkaNodePool"):
        spec = pool["spec"]
        storage = spec["storage"]["volumes"][0]["size"]
        rows.append(
            f"| Kafka pool {pool['metadata']['name']} ({', '.join(spec['roles'])}; {storage} each) "
            f"| {spec['replicas']} | {_pair(spec, 'requests')} | {_pair(spec, 'limits')} |"
        )
    for cluster in of_kind(objects, "Cluster"):
        spec = cluster["spec"]
        storage = f"{spec['storage']['size']} + WAL {spec['walStorage']['size']} each"
        rows.append(
            f"| PostgreSQL {cluster['metadata']['name']} ({storage}; max_connections "
            f"{spec['postgresql']['parameters']['max_connections']}) | {spec['instances']} "
            f"| {_pair(spec, 'requests')} | {_pair(spec, 'limits')} |"
        )
    floor, ceiling = _totals(objects, hpas)
    rows.append("")
    rows.append(
        f"Requests in all: {floor[0]:.1f} CPU and {floor[1]:.1f} GiB at every floor, "
        f"{ceiling[0]:.1f} CPU and {ceiling[1]:.1f} GiB at every ceiling."
    )
    topics = of_kind(objects, "KafkaTopic")
    partitions = sorted(
        {t["spec"]["partitions"] for t in topics if ".dlq." not in t["spec"]["topicName"]}
    )
    rows.append("")
    services = sum(".dlq." not in t["spec"]["topicName"] for t in topics)
    rows.append(
        f"Topics: {len(topics)} ({services} service topics "
        f"of {', '.join(map(str, partitions))} partitions, the rest dead-letter topics of 1), "
        f"replication factor {topics[0]['spec']['replicas']}, retention.ms -1."
    )
    return "\n".join(rows)


def _totals(
    objects: Sequence[Manifest], hpas: dict[str, Manifest]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """CPU and GiB requested with each autoscaler at its floor, and at its ceiling."""
    low, high = [0.0, 0.0], [0.0, 0.0]
    counted: list[tuple[Manifest, int, int]] = []
    for c in containers(objects):
        if c.workload["kind"] == "Deployment":
            name = c.workload["metadata"]["name"]
            scale = hpas.get(
                name,
                {
                    "minReplicas": c.workload["spec"].get("replicas"),
                    "maxReplicas": c.workload["spec"].get("replicas"),
                },
            )
            counted.append((c.spec, scale["minReplicas"], scale["maxReplicas"]))
    counted += [
        (p["spec"], p["spec"]["replicas"], p["spec"]["replicas"])
        for p in of_kind(objects, "KafkaNodePool")
    ]
    counted += [
        (c["spec"], c["spec"]["instances"], c["spec"]["instances"])
        for c in of_kind(objects, "Cluster")
    ]
    for spec, least, most in counted:
        requests = spec.get("resources", {}).get("requests", {})
        cpu, memory = _cpu(requests.get("cpu", "0")), _gib(requests.get("memory", "0"))
        low = [low[0] + least * cpu, low[1] + least * memory]
        high = [high[0] + most * cpu, high[1] + most * memory]
    return (low[0], low[1]), (high[0], high[1])


def _cpu(amount: str | int | float) -> float:
    text = str(amount)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _gib(amount: str | int) -> float:
    text = str(amount)
    units = {"Ki": 2**-20, "Mi": 2**-10, "Gi": 1.0, "Ti": 2**10}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text) / 2**30


def _pair(spec: Manifest, which: str) -> str:
    amounts = spec.get("resources", {}).get(which, {})
    return f"{amounts.get('cpu', '-')}, {amounts.get('memory', '-')}"


if __name__ == "__main__":
    print(summary(render([Path(p) for p in sys.argv[1:]])))
