"""A single-node Kafka 4.x broker in KRaft mode, run from its jars on Maven Central."""

import asyncio
import base64
import hashlib
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from deploy.local.processes import (
    StackError,
    is_alive,
    port_answers,
    port_is_free,
    processes_mentioning,
    read_pid,
    tail,
    terminate,
    wait_until,
)
from deploy.local.settings import StackSettings

RECIPE = Path(__file__).parent / "kafka"
POM = RECIPE / "pom.xml"


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, f"{POM} names no kafka.version"
    return match.group(1)


class LocalKafka:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.home = settings.home / "kafka"
        self.data = self.home / "data"
        self.config = self.home / "server.properties"
        self.pid_file = self.home / "kafka.pid"
        self.log = settings.logs / "kafka.log"
        pom_digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
        self.lib = settings.cache / "kafka" / f"{kafka_version()}-{pom_digest}" / "lib"

    @property
    def address(self) -> str:
        return self.settings.kafka_bootstrap_servers

    def install(self) -> bool:
        """Resolve the broker's jars once; later calls need no network. True if it downloaded."""
        complete = self.lib.parent / ".complete"
        if complete.exists():
            return False
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StackError(
                "Maven (mvn) is not on PATH; install it (Debian: apt-get install maven)"
            )
        staging = self.lib.parent / "lib.partial"
        shutil.rmtree(staging, ignore_errors=True)
        log = self.settings.logs / "kafka-install.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            mvn, "-B", "-q", "-f", str(POM),
            f"-Dmaven.repo.local={self.settings.cache / 'm2'}",
            "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ]  # fmt: skip
        with log.open("w") as out:
            if subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, check=False
            ).returncode:
                raise StackError(f"resolving the Kafka jars failed; see {log}:\n{tail(log)}")
        shutil.rmtree(self.lib, ignore_errors=True)
        staging.rename(self.lib)
        complete.write_text(kafka_version())
        return True

    def running_pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if pid is not None and is_alive(pid) else None

    def up(self) -> str:
        if self.running_pid() is not None and self.ready():
            return "already running"
        self.down()
        self.install()
        for port in (self.settings.kafka_port, self.settings.kafka_controller_port):
            if not port_is_free(self.settings.host, port):
                raise StackError(
                    f"port {self.settings.host}:{port} is taken by another process; "
                    "choose others with KINERJA_STACK_KAFKA_PORT and "
                    "KINERJA_STACK_KAFKA_CONTROLLER_PORT"
                )
        self._write_config()
        self._format_storage()
        self._start()
        return "started"

    def _write_config(self) -> None:
        host, port = self.settings.host, self.settings.kafka_port
        controller = self.settings.kafka_controller_port
        self.home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers={host}:{controller}",
                    f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
                    f"advertised.listeners=PLAINTEXT://{host}:{port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.data}",
                    # topics are created by the code with explicit settings, as in production
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )

    def _java(self, *args: str, heap: bool = False) -> list[str]:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if java is None:
            raise StackError("java is not on PATH; Kafka needs a JDK 17 or newer")
        options = (
            ["-Xms256m", f"-Xmx{self.settings.kafka_heap}", "-XX:+UseSerialGC"] if heap else []
        )
        return [
            java, *options,
            f"-Dlog4j2.configurationFile={RECIPE / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.settings.logs / 'kafka-server'}",
            "-cp", f"{self.lib}/*", *args,
        ]  # fmt: skip

    def _format_storage(self) -> None:
        if (self.data / "meta.properties").exists():
            return
        cluster_id = self.home / "cluster.id"
        if not cluster_id.exists():
            # KRaft wants a base64 UUID, as StorageTool random-uuid prints; no JVM start needed
            cluster_id.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22])
        command = self._java(
            "kafka.tools.StorageTool", "format", "--standalone", "--ignore-formatted",
            # --cluster-id=ID in one word: a base64 id may begin with "-", which argparse
            # would take for an option
            f"--cluster-id={cluster_id.read_text().strip()}", "-c", str(self.config),
        )  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode:
            raise StackError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def _start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                self._java("kafka.Kafka", str(self.config), heap=True),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))

        def answered() -> bool:
            return process.poll() is not None or self.ready()

        wait_until(answered, self.settings.start_timeout_seconds)
        if process.poll() is not None or not self.ready():
            self.down()
            server_log = self.settings.logs / "kafka-server" / "server.log"
            raise StackError(
                f"Kafka did not answer on {self.address} within "
                f"{self.settings.start_timeout_seconds:.0f}s; its logs: {self.log}, {server_log}\n"
                f"{tail(self.log)}\n{tail(server_log)}"
            )

    def ready(self) -> bool:
        """The broker answers a metadata request, not merely a TCP connect."""
        if not port_answers(self.settings.host, self.settings.kafka_port):
            return False
        return asyncio.run(broker_answers(self.address))

    def down(self) -> None:
        pids = [pid for pid in [self.running_pid()] if pid is not None]
        pids += [pid for pid in processes_mentioning(str(self.config)) if pid not in pids]
        terminate(pids)
        self.pid_file.unlink(missing_ok=True)

    def version(self) -> str:
        return kafka_version()


async def broker_answers(bootstrap: str) -> bool:
    """Whether a broker at `bootstrap` answers a metadata request."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    except (KafkaError, OSError):
        return False
    finally:
        await admin.close()
    return bool(cluster.get("brokers"))
