#!/usr/bin/env bash
# Helm for rendering and checking the chart offline, built from the Go module proxy (the only
# place this project's machines may fetch it from) into .cache/tools/, so a second run costs
# nothing. Prints the binary's path. Cold: about three minutes on 2 cores; with Go's module and
# build caches warm (another clone on the same machine): a few seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

HELM_VERSION=v3.22.0
HELM="$PWD/.cache/tools/helm-$HELM_VERSION/helm"

if [[ -x "$HELM" ]] && "$HELM" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
    echo "$HELM"
    exit 0
fi
if ! command -v go >/dev/null; then
    echo "install-helm: go not found; helm $HELM_VERSION is built from the Go module proxy" >&2
    exit 1
fi
echo "install-helm: building helm $HELM_VERSION with $(go version | cut -d' ' -f3) (once)" >&2
started=$SECONDS
# the version is stamped as helm's release build stamps it; otherwise `helm version` says v3.22
GOBIN="$(dirname "$HELM")" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -modcacherw" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
echo "install-helm: built in $((SECONDS - started))s" >&2
echo "$HELM"
