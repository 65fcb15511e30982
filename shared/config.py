"""Configuration from the environment, shared by every service and command."""

from pydantic import Field, PostgresDsn
from pydantic_settings import BaseSettings, SettingsConfigDict


class KinerjaSettings(BaseSettings):
    """What every Kinerja process reads from `KINERJA_*` variables."""

    model_config = SettingsConfigDict(env_prefix="KINERJA_", extra="ignore")

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:19092",
        description="comma-separated host:port of the Kafka brokers",
        min_length=1,
    )
    database_url: PostgresDsn = Field(
        default=PostgresDsn("postgresql://kinerja:kinerja@127.0.0.1:15432/kinerja"),
        description="PostgreSQL DSN of this service's database",
    )
    topic_namespace: str = Field(
        default="kinerja",
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="first part of every topic name (kinerja.<service>.v1); another namespace"
        " lets a staging or test system share a Kafka cluster",
    )
    topic_partitions: int = Field(default=6, ge=1, description="partitions of each topic we create")
    topic_replication_factor: int = Field(default=1, ge=1)
    agency: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the agency's code: picks its rules files (distribution curve, tukin)",
    )
    time_zone: str = Field(
        default="Asia/Jakarta",
        description="the agency's time zone (IANA name): its dates decide when a period ends",
    )
    log_level: str = "INFO"
    log_json: bool = Field(default=True, description="JSON log lines (false: console)")
