"""A private PostgreSQL cluster in the stack's folder, on its own port; never a system cluster."""

import os
import pwd
import subprocess
from pathlib import Path

from deploy.local.debian import postgres_bindir
from deploy.local.processes import (
    StackError,
    port_is_free,
    processes_mentioning,
    tail,
    terminate,
)
from deploy.local.settings import StackSettings

# PostgreSQL refuses to run as root; as root we run it as the account Debian's package makes.
SERVER_ACCOUNT = "postgres"


class LocalPostgres:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.home = settings.home / "postgres"
        self.data = self.home / "data"
        self.sockets = self.home / "run"
        self.log = settings.logs / "postgres.log"

    @property
    def address(self) -> str:
        return self.settings.database_url

    def _bin(self, name: str) -> str:
        bindir = postgres_bindir()
        if bindir is None:
            raise StackError("PostgreSQL binaries not found; `install` (as root) installs them")
        return str(bindir / name)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", SERVER_ACCOUNT, "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False)
        if check and result.returncode:
            raise StackError(
                f"{Path(command[0]).name} failed ({result.returncode}); log: {self.log}\n"
                f"{result.stdout}{result.stderr}\n{tail(self.log)}"
            )
        return result

    def _prepare_folders(self) -> None:
        self.sockets.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(SERVER_ACCOUNT)
        for path in (self.home, self.sockets, self.log):
            os.chown(path, account.pw_uid, account.pw_gid)
        if self._run("test", "-w", str(self.home), check=False).returncode:
            raise StackError(
                f"the '{SERVER_ACCOUNT}' account cannot reach {self.home} (a parent folder is "
                "private); set KINERJA_STACK_HOME to a folder it can reach, e.g. /tmp/kinerja-stack"
            )

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists() or postgres_bindir() is None:
            return False
        return (
            self._run(self._bin("pg_ctl"), "status", "-D", str(self.data), check=False).returncode
            == 0
        )

    def up(self) -> str:
        self._prepare_folders()
        if self.running():
            self._ensure_database()
            return "already running"
        if not port_is_free(self.settings.host, self.settings.postgres_port):
            raise StackError(
                f"port {self.settings.host}:{self.settings.postgres_port} is taken by another "
                "process; choose another with KINERJA_STACK_POSTGRES_PORT"
            )
        self._initdb()
        options = (
            f"-p {self.settings.postgres_port} -h {self.settings.host} -k {self.sockets} "
            "-c max_connections=200 -c shared_buffers=256MB"
        )
        timeout = str(int(self.settings.start_timeout_seconds))
        self._run(
            self._bin("pg_ctl"), "start", "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", timeout, "-o", options,
        )  # fmt: skip
        self._ensure_database()
        return "started"

    def _initdb(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        password_file = self.home / "initdb.pw"
        password_file.write_text(self.settings.postgres_password)
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_ACCOUNT)
            os.chown(password_file, account.pw_uid, account.pw_gid)
        try:
            self._run(
                self._bin("initdb"), "-D", str(self.data), "-U", self.settings.postgres_user,
                f"--pwfile={password_file}", "--auth-local=trust", "--auth-host=scram-sha-256",
                "--encoding=UTF8", "--locale=C",
            )  # fmt: skip
        finally:
            password_file.unlink(missing_ok=True)

    def _psql(self, sql: str, database: str = "postgres") -> str:
        result = self._run(
            self._bin("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
            "-h", str(self.sockets), "-p", str(self.settings.postgres_port),
            "-U", self.settings.postgres_user, "-d", database, "-c", sql,
        )  # fmt: skip
        return result.stdout.strip()

    def _ensure_database(self) -> None:
        name = self.settings.postgres_database
        if not self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self._psql(f'CREATE DATABASE "{name}"')

    def down(self) -> None:
        if self.running():
            self._run(
                self._bin("pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w", check=False
            )
        terminate(list(processes_mentioning(str(self.data))))

    def version(self) -> str:
        try:
            return subprocess.run(
                [self._bin("postgres"), "--version"], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (StackError, subprocess.CalledProcessError):
            return "not installed"
