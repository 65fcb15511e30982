# Kinerja's one image: every service, relay, projection runner, migration and operator command,
# chosen by the arguments; configuration only from KINERJA_* variables, none baked in.
#
#   docker build -t kinerja .
#   docker run kinerja python -m services.journal                    # API, relay, projections
#   docker run kinerja python -m shared.relay --service journal
#   docker run kinerja python -m shared.projections run --projection services.journal.projections:JournalEntries
#   docker run kinerja python -m shared.migrate --service journal
#
# The `kinerja` operator command, once it exists, is a console script of the project and so
# lands in /opt/kinerja/bin with the rest: `docker run kinerja kinerja ...`.
# Pin the base by digest in your registry mirror (PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.8
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/kinerja
WORKDIR /src
# the locked run-time dependencies first (no dev, test or bench groups): a layer that is rebuilt
# only when uv.lock changes
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-default-groups --no-install-project --python /usr/local/bin/python3.11
# then the project itself, installed as a wheel: the image holds no source tree
COPY README.md ./
COPY shared ./shared
COPY services ./services
COPY deploy/__init__.py ./deploy/__init__.py
COPY deploy/local ./deploy/local
RUN uv sync --frozen --no-default-groups --no-editable --python /usr/local/bin/python3.11

FROM ${PYTHON_IMAGE}
# tini as PID 1: SIGTERM reaches Python even before its handlers are installed, and orphans
# are reaped; each command then stops cleanly within the pod's grace period
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 kinerja \
    && useradd --system --uid 10001 --gid kinerja --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin kinerja
COPY --from=build /opt/kinerja /opt/kinerja
ENV PATH=/opt/kinerja/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# `python -m` puts the working directory first on sys.path: one with nothing to shadow
WORKDIR /opt/kinerja
USER 10001:10001
EXPOSE 8001 8002 8003 8004 9090
LABEL org.opencontainers.image.title="kinerja" \
      org.opencontainers.image.description="Event-sourced eKinerja services" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "services.targets"]
