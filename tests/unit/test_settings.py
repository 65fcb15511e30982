import pytest
from pydantic import ValidationError

from deploy.local.settings import StackSettings
from deploy.local.stack import Addresses
from shared.config import KinerjaSettings


def test_services_read_their_addresses_from_kinerja_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KINERJA_KAFKA_BOOTSTRAP_SERVERS", "broker-1:9092,broker-2:9092")
    monkeypatch.setenv("KINERJA_DATABASE_URL", "postgresql://u:p@db:5432/targets")

    settings = KinerjaSettings()

    assert settings.kafka_bootstrap_servers == "broker-1:9092,broker-2:9092"
    assert settings.database_url.path == "/targets"


def test_a_database_url_that_is_not_postgres_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINERJA_DATABASE_URL", "mysql://u:p@db/kinerja")

    with pytest.raises(ValidationError, match="database_url"):
        KinerjaSettings()


def test_stack_ports_are_configurable_and_status_prints_matching_exports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KINERJA_STACK_KAFKA_PORT", "29092")
    monkeypatch.setenv("KINERJA_STACK_POSTGRES_PORT", "25432")
    stack = StackSettings()

    exports = Addresses(stack.kafka_bootstrap_servers, stack.database_url).exports()

    assert "export KINERJA_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:29092" in exports
    assert "@127.0.0.1:25432/kinerja" in exports
