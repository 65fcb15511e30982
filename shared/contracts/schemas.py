"""JSON Schemas of the envelope and of every event type in the catalog.

python -m shared.contracts.schemas            # write shared/contracts/schemas/
python -m shared.contracts.schemas --check    # exit 1 when the files are stale
"""

import json
import sys
from pathlib import Path
from typing import Any

from shared.events.envelope import ENVELOPE
from shared.events.kafka_binding import versioned_type
from shared.events.registry import EventRegistry

FOLDER = Path(__file__).parent / "schemas"
SCHEMA_ID = "urn:kinerja:schema:{name}"


def generate(registry: EventRegistry) -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, for the envelope and each registered event type."""
    envelope = ENVELOPE.json_schema()
    documents = {"envelope.json": _describe(envelope, "envelope", "The envelope of every event")}
    for model in registry:
        name = versioned_type(model.type_name, model.schema_version)
        schema = model.model_json_schema()
        documents[f"{name}.json"] = _describe(schema, name, (model.__doc__ or "").strip())
    return documents


def _describe(schema: dict[str, Any], name: str, description: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.format(name=name),
        **schema,
        "description": description or schema.get("description", ""),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def stale(registry: EventRegistry, folder: Path = FOLDER) -> list[str]:
    """Files that are missing, different, or no longer generated."""
    documents = generate(registry)
    present = {path.name for path in folder.glob("*.json")} if folder.exists() else set()
    differ = [
        name
        for name, document in documents.items()
        if name not in present or (folder / name).read_text() != render(document)
    ]
    return sorted(differ + [name for name in present if name not in documents])


def write(registry: EventRegistry, folder: Path = FOLDER) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    documents = generate(registry)
    for path in folder.glob("*.json"):
        if path.name not in documents:
            path.unlink()
    for name, document in documents.items():
        (folder / name).write_text(render(document))


def main() -> None:
    from shared.contracts.catalog import full_catalog

    catalog = full_catalog()

    if "--check" in sys.argv:
        outdated = stale(catalog)
        for name in outdated:
            print(f"stale: {FOLDER / name}", file=sys.stderr)
        sys.exit(1 if outdated else 0)
    write(catalog)
    print(f"wrote {len(generate(catalog))} schemas to {FOLDER}")


if __name__ == "__main__":
    main()
