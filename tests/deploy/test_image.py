"""The container image, checked without a Docker engine: the Dockerfile's shape, the build
context its .dockerignore leaves, and the image's Python environment built the way the
Dockerfile builds it, running every command the manifests give it."""

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.chart import ROOT

DOCKERFILE = ROOT / "Dockerfile"
MODULES = [
    ["shared.migrate", "--help"],
    ["shared.relay", "--help"],
    ["shared.projections", "run", "--help"],
    *([f"services.{p.parent.name}", "--help"] for p in sorted(ROOT.glob("services/*/__main__.py"))),
]


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    found = instructions()
    last = max(i for i, (word, _) in enumerate(found) if word == "FROM")
    return found[last:]


def test_the_image_is_built_in_stages_from_a_pinned_slim_python() -> None:
    found = instructions()
    assert sum(word == "FROM" for word, _ in found) >= 2
    [base] = [rest for word, rest in found if word == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base)
    [uv] = [rest for word, rest in found if word == "ARG" and rest.startswith("UV_VERSION=")]
    bootstrap = (ROOT / "deploy" / "local" / "bootstrap.sh").read_text()
    assert f"UV_VERSION={uv.split('=')[1]}" in bootstrap, (
        "the image builds with the uv we lock with"
    )


def test_the_image_runs_as_an_unprivileged_user_under_an_init_and_bakes_in_no_settings() -> None:
    stage = final_stage()
    [user] = [rest for word, rest in stage if word == "USER"]
    assert int(user.split(":")[0]) >= 10000
    [entrypoint] = [json.loads(rest) for word, rest in stage if word == "ENTRYPOINT"]
    assert entrypoint == ["/usr/bin/tini", "--"]
    [command] = [json.loads(rest) for word, rest in stage if word == "CMD"]
    assert command[:2] == ["python", "-m"]
    assert not [rest for word, rest in instructions() if word == "ENV" and "KINERJA_" in rest]


def context_files() -> list[Path]:
    """What .dockerignore lets into the build context: the last matching rule decides."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    kept = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        if not path.is_file() or relative.startswith((".venv/", ".git/", ".cache/")):
            continue
        included = True
        for rule in rules:
            pattern = rule.lstrip("!").rstrip("/")
            parts = relative.split("/")
            parents = [relative, *("/".join(parts[:i]) for i in range(1, len(parts)))]
            if any(fnmatch.fnmatch(p, pattern) for p in parents):
                included = rule.startswith("!")
        if included:
            kept.append(Path(relative))
    return kept


def test_the_build_context_holds_what_the_image_copies_and_no_more() -> None:
    context = context_files()
    sources = [
        source
        for word, rest in instructions()
        if word == "COPY" and not rest.startswith("--from")
        for source in rest.split()[:-1]
    ]
    for source in sources:
        assert any(p == Path(source) or Path(source) in p.parents for p in context), source
    assert not [p for p in context if p.parts[0] in {"tests", ".git", ".venv", ".cache"}]
    assert not [p for p in context if "__pycache__" in p.parts]


def uv() -> list[str]:
    if found := shutil.which("uv"):
        return [found]
    python = os.environ.get("KINERJA_PYTHON", "python3.11")
    return [python, "-m", "uv"]


def test_the_images_environment_runs_every_command_the_manifests_use(tmp_path: Path) -> None:
    """The two `uv sync` steps of the Dockerfile, on the build context alone, then each
    command from a folder with no source in it, as in the image."""
    context, environment = tmp_path / "context", tmp_path / "opt"
    for relative in context_files():
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, context / relative)
    env = os.environ | {
        "UV_PROJECT_ENVIRONMENT": str(environment),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_LINK_MODE": "copy",
    }
    for step in (["--no-install-project"], ["--no-editable"]):
        synced = subprocess.run(
            [*uv(), "sync", "--frozen", "--no-default-groups", "--quiet", *step,
             "--python", sys.executable],
            cwd=context, env=env, capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip
        if synced.returncode != 0 and "No such file" in synced.stderr:
            pytest.skip(f"no uv: {synced.stderr}")
        assert synced.returncode == 0, synced.stderr
    test_tools = subprocess.run(
        [str(environment / "bin" / "python"), "-c",
         "import importlib.util as u; print([m for m in ('pytest', 'mypy') if u.find_spec(m)])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert test_tools.stdout.strip() == "[]", "the image carries no test or lint tools"
    for module in MODULES:
        ran = subprocess.run(
            [str(environment / "bin" / "python"), "-m", *module],
            cwd=environment, capture_output=True, text=True, check=False, timeout=120,
            env={k: v for k, v in os.environ.items() if not k.startswith("KINERJA_")},
        )  # fmt: skip
        assert ran.returncode == 0, f"python -m {' '.join(module)}: {ran.stderr[-2000:]}"
