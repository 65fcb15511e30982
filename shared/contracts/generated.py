"""Generated documents committed to the repository and kept current by tests: a folder holds
exactly what its generator makes, rendered one way, so a stale file shows in a diff."""

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.contracts.schemas import render

Documents = dict[str, dict[str, Any]]
REGENERATE = "make schemas"


def stale(documents: Documents, folder: Path) -> list[str]:
    """Files that are missing, different, or no longer generated."""
    present = {path.name for path in folder.glob("*.json")} if folder.exists() else set()
    differ = [
        name
        for name, document in documents.items()
        if name not in present or (folder / name).read_text() != render(document)
    ]
    return sorted(differ + [name for name in present if name not in documents])


def write(documents: Documents, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.json"):
        if path.name not in documents:
            path.unlink()
    for name, document in documents.items():
        (folder / name).write_text(render(document))


def main(generate: Callable[[], Documents], folder: Path) -> None:
    """Write the folder, or with `--check` exit 1 naming each stale file."""
    documents = generate()
    if "--check" in sys.argv:
        outdated = stale(documents, folder)
        for name in outdated:
            print(f"stale: {folder / name} (run: {REGENERATE})", file=sys.stderr)
        sys.exit(1 if outdated else 0)
    write(documents, folder)
    print(f"wrote {len(documents)} documents to {folder}")
