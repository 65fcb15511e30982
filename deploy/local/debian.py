"""Install the Debian packages the stack runs on, only when their programs are missing."""

import os
import shutil
import subprocess
from pathlib import Path

from deploy.local.processes import StackError, tail
from deploy.local.settings import StackSettings

# Asked of Debian's postgresql-common before installing, so the package makes no system cluster.
CREATECLUSTER_CONF = Path("/etc/postgresql-common/createcluster.conf")


def postgres_bindir() -> Path | None:
    override = os.environ.get("KINERJA_STACK_PG_BINDIR")
    if override:
        return Path(override)
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_packages() -> list[str]:
    missing = []
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing.append("openjdk-17-jre-headless")
    if shutil.which("mvn") is None:
        missing.append("maven")
    if postgres_bindir() is None:
        missing.append("postgresql")
    if shutil.which("kcat") is None:
        missing.append("kcat")  # the plain Kafka client the tests read our topics with
    return missing


def ensure_packages(settings: StackSettings) -> list[str]:
    """apt-get install what is missing; returns what it installed (nothing, usually)."""
    missing = missing_packages()
    if not missing:
        return []
    if os.geteuid() != 0:
        raise StackError(f"missing programs; install as root: apt-get install {' '.join(missing)}")
    if "postgresql" in missing and not CREATECLUSTER_CONF.exists():
        CREATECLUSTER_CONF.parent.mkdir(parents=True, exist_ok=True)
        CREATECLUSTER_CONF.write_text("create_main_cluster = false\n")
    log = settings.logs / "apt.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with log.open("w") as out:
        for command in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
        ):
            if subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode:
                raise StackError(f"installing {' '.join(missing)} failed; see {log}:\n{tail(log)}")
    return missing
