from pathlib import Path

from shared.contracts.catalog import full_catalog
from shared.contracts.schemas import FOLDER, generate, stale, write
from tests.support.events import registry


def test_the_committed_json_schemas_match_the_catalog() -> None:
    assert stale(full_catalog()) == [], (
        f"run: python -m shared.contracts.schemas (files in {FOLDER})"
    )


def test_each_event_type_gets_a_schema_named_by_type_and_version() -> None:
    documents = generate(registry)

    assert set(documents) == {
        "envelope.json",
        "kinerja.test.target-set.v1.json",
        "kinerja.test.progress-recorded.v2.json",
    }
    assert documents["kinerja.test.progress-recorded.v2.json"]["required"] == [
        "indicator",
        "realised",
        "unit",
    ]


def test_an_edited_removed_or_extra_schema_file_is_stale(tmp_path: Path) -> None:
    write(registry, tmp_path)
    assert stale(registry, tmp_path) == []

    (tmp_path / "kinerja.test.target-set.v1.json").write_text("{}")
    (tmp_path / "envelope.json").unlink()
    (tmp_path / "kinerja.test.gone.v1.json").write_text("{}")

    assert stale(registry, tmp_path) == [
        "envelope.json",
        "kinerja.test.gone.v1.json",
        "kinerja.test.target-set.v1.json",
    ]
