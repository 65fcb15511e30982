"""The manifests against the code they deploy: each relay, projection and job a service runs
has a workload, each topic the code uses a KafkaTopic, and each variable the code reads a
value on every container that reads it. Learned from the code, so a new projection, topic or
setting without its manifest entry fails here."""

from collections import Counter
from collections.abc import Sequence

from shared.projections.dead_letters import dead_letter_spec
from shared.relay.topics import FOREVER, service_topic
from tests.deploy.chart import Container, Manifest, containers, named, of_kind
from tests.deploy.commands import Run, run, service_names, settings_variables


def default_runs() -> dict[str, Run]:
    """What each service process runs when nothing is split off: the whole of the service."""
    return {service: run(["python", "-m", f"services.{service}"]) for service in service_names()}


def used_topics(runs: Sequence[Run]) -> dict[str, int | None]:
    """Each topic the code publishes to or reads, with the partitions the code gives it
    (None: KINERJA_TOPIC_PARTITIONS)."""
    topics: dict[str, int | None] = {}
    for r in runs:
        topics |= {service_topic(service): None for service in r.relays}
        for projection in r.projections:
            topics |= dict.fromkeys(projection.topics)
            spec = dead_letter_spec(projection)
            topics[spec.name] = spec.partitions
    return topics


def workload_runs(rendered: Sequence[Manifest]) -> list[tuple[Container, Run]]:
    return [
        (c, run(c.args, c.literal_env()))
        for c in containers(rendered)
        if c.workload["kind"] == "Deployment"
    ]


def test_every_topic_the_code_uses_has_a_kafka_topic_kept_forever(
    rendered: list[Manifest],
) -> None:
    kafka_topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(rendered, "KafkaTopic")}
    partitions = {c.env["KINERJA_TOPIC_PARTITIONS"]["value"] for c in containers(rendered)}
    replicas = {c.env["KINERJA_TOPIC_REPLICATION_FACTOR"]["value"] for c in containers(rendered)}
    assert len(partitions) == len(replicas) == 1, "every process creates topics alike"
    [configured], [replication] = partitions, replicas
    for topic, fixed in used_topics(list(default_runs().values())).items():
        assert topic in kafka_topics, f"{topic} is used by the code but has no KafkaTopic"
        spec = kafka_topics[topic]
        assert spec["partitions"] == (fixed or int(configured)), topic
        assert str(spec["replicas"]) == replication, topic
        assert {k: str(v) for k, v in spec["config"].items()}.items() >= FOREVER.items(), topic


def test_every_relay_projection_and_job_of_a_service_runs_in_exactly_one_workload(
    rendered: list[Manifest],
) -> None:
    placed = workload_runs(rendered)
    for service, whole in default_runs().items():
        mine = [(c, r) for c, r in placed if c.labels["kinerja/service"] == service]
        relays = Counter(s for c, r in mine for s in r.relays)
        assert relays == Counter(whole.relays), f"{service}: relays run as {relays}"
        projections = Counter((p.name, type(p)) for c, r in mine for p in r.projections)
        expected = Counter((p.name, type(p)) for p in whole.projections)
        missing = expected - projections
        assert not missing, (
            f"{service} runs {sorted(n for n, _ in missing)} but no workload does: add them "
            f"under services.{service}.projections in deploy/k8s/kinerja/values.yaml"
        )
        assert projections == expected, f"{service}: projections run as {projections}"
        assert sum(r.jobs for c, r in mine) == whole.jobs, (
            f"{service}'s process runs {whole.jobs} background jobs; give them a worker "
            f"(services.{service}.worker) and switch them off in its api"
        )
        for c, r in mine:
            if c.labels["app.kubernetes.io/component"] == "api":
                assert r.serves_api, c.name
                assert (r.relays, r.projections, r.jobs) == ([], [], 0), c.name


def test_every_variable_the_code_reads_is_set_on_each_container_that_reads_it(
    rendered: list[Manifest],
) -> None:
    for c in containers(rendered):
        read = run(c.args, c.literal_env())
        needed = set(read.envvars)
        for settings in read.settings:
            needed |= settings_variables(settings)
        missing = needed - c.env.keys()
        assert not missing, f"{c.name} reads {sorted(missing)}, which the chart does not set"


def test_consumers_never_outnumber_the_partitions_they_share(rendered: list[Manifest]) -> None:
    partitions = {
        t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(rendered, "KafkaTopic")
    }
    scalers = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]
        for h in of_kind(rendered, "HorizontalPodAutoscaler")
    }
    for c, r in workload_runs(rendered):
        for projection in r.projections:
            name = c.workload["metadata"]["name"]
            most = (
                scalers[name]["maxReplicas"] if name in scalers else c.workload["spec"]["replicas"]
            )
            fewest = min(partitions[topic] for topic in projection.topics)
            assert most <= fewest, f"{name}: up to {most} consumers for {fewest} partitions"


def test_each_api_listens_where_its_service_and_probes_look(rendered: list[Manifest]) -> None:
    for service in service_names():
        api = named(rendered, "Deployment", f"kinerja-{service}-api")
        [container] = api["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        [port] = container["ports"]
        assert env[f"KINERJA_{service.upper()}_HOST"]["value"] == "0.0.0.0"  # noqa: S104
        assert int(env[f"KINERJA_{service.upper()}_PORT"]["value"]) == port["containerPort"]
        front = named(rendered, "Service", f"kinerja-{service}")
        assert front["spec"]["ports"][0]["targetPort"] == port["name"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"


def test_each_process_reaches_kafka_and_only_its_own_services_database(
    rendered: list[Manifest],
) -> None:
    [kafka] = of_kind(rendered, "Kafka")
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:9092"
    for c in containers(rendered):
        service = c.labels["kinerja/service"]
        assert c.env["KINERJA_KAFKA_BOOTSTRAP_SERVERS"]["value"] == bootstrap, c.name
        secret = c.env["KINERJA_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": f"kinerja-{service}-db-app", "key": "uri"}, c.name
