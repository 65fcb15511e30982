"""Each service's OpenAPI document, committed and current: other systems build clients on it,
and the live routes are its only source."""

from pathlib import Path

import pytest

from shared.contracts import generated, openapi
from shared.migrate import service_names

PUBLISHED = {"targets", "journal", "appraisal", "notify"}


@pytest.fixture(scope="module")
def documents() -> generated.Documents:
    return openapi.generate()


def test_the_committed_openapi_documents_match_the_services_routes(
    documents: generated.Documents,
) -> None:
    assert generated.stale(documents, openapi.FOLDER) == [], f"run: {generated.REGENERATE}"


def test_every_service_with_an_app_has_its_openapi_document(
    documents: generated.Documents,
) -> None:
    assert set(service_names()) >= PUBLISHED
    assert set(documents) == {f"{service}.openapi.json" for service in service_names()}
    for service in service_names():
        served = documents[f"{service}.openapi.json"]
        assert served["openapi"].startswith("3.")
        assert served["info"]["title"] == f"Kinerja {service}"
        assert "/livez" in served["paths"]


def test_a_stale_extra_or_missing_generated_file_is_found(tmp_path: Path) -> None:
    documents = {"a.json": {"x": 1}, "b.json": {"y": 2}}
    generated.write(documents, tmp_path)
    assert generated.stale(documents, tmp_path) == []

    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json").unlink()
    (tmp_path / "gone.json").write_text("{}")

    assert generated.stale(documents, tmp_path) == ["a.json", "b.json", "gone.json"]
