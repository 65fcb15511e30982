"""Where the local stack keeps its files and which loopback ports it takes."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPOSITORY = Path(__file__).resolve().parents[2]


class StackSettings(BaseSettings):
    """The local stack's knobs, read from `KINERJA_STACK_*` variables."""

    model_config = SettingsConfigDict(env_prefix="KINERJA_STACK_")

    home: Path = Field(
        default=REPOSITORY / ".cache" / "stack",
        description="data, logs and pid files of this stack",
    )
    cache: Path = Field(
        default=REPOSITORY / ".cache",
        description="downloads shared by every stack of this checkout (Maven repository, jars)",
    )
    host: str = "127.0.0.1"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    kafka_heap: str = "512m"
    postgres_port: int = 15432
    postgres_user: str = "kinerja"
    postgres_password: str = "kinerja"  # noqa: S105 - loopback-only development cluster
    postgres_database: str = "kinerja"
    start_timeout_seconds: float = 90.0

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def kafka_bootstrap_servers(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return (
            f"postgresql://{self.postgres_user}:{self.postgres_password}"
            f"@{self.host}:{self.postgres_port}/{self.postgres_database}"
        )
