#!/usr/bin/env bash
# Everything a fresh machine needs to run and test Kinerja, idempotent and quick when present:
# uv, the locked Python environment (.venv), Debian's java/maven/postgresql if missing, the
# Kafka jars from Maven Central, and a pinned helm (built with Go, cached in .cache/tools).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

UV_VERSION=0.13.8
PYTHON=${KINERJA_PYTHON:-python3.11}

if ! command -v "$PYTHON" >/dev/null; then
    echo "bootstrap: $PYTHON not found; Kinerja needs CPython 3.11 (set KINERJA_PYTHON)" >&2
    exit 1
fi
if [[ "$("$PYTHON" -m uv --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
    echo "bootstrap: installing uv $UV_VERSION"
    PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check \
        "uv==$UV_VERSION"
fi
# --frozen: exactly the versions in uv.lock, never a fresh resolution
UV_PYTHON_DOWNLOADS=never "$PYTHON" -m uv sync --frozen --quiet --python "$PYTHON"
.venv/bin/python -m deploy.local.stack install
# helm for the deployment checks (tests/deploy): built once from the Go module proxy, then cached
if command -v go >/dev/null; then
    bash deploy/k8s/install-helm.sh >/dev/null
else
    echo "bootstrap: go not found, so no helm: tests/deploy skips (under CI it fails)" >&2
fi
