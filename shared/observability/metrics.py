"""The process's Prometheus metrics, defined once at import, labelled by service or projection."""

from prometheus_client import Counter, Gauge, make_asgi_app, start_http_server
from starlette.types import ASGIApp

EVENTS_APPENDED = Counter(
    "kinerja_events_appended_total",
    "Events appended to the event store.",
    ["service", "event_type"],
)
APPEND_CONFLICTS = Counter(
    "kinerja_append_conflicts_total",
    "Appends refused because the stream had moved past the expected version.",
    ["service"],
)
RELAY_PUBLISHED = Counter(
    "kinerja_relay_published_total",
    "Events the outbox relay published to Kafka.",
    ["service", "topic"],
)
RELAY_LAG_EVENTS = Gauge(
    "kinerja_relay_lag_events",
    "Events appended but not yet published by the relay.",
    ["service"],
)
RELAY_LAG_SECONDS = Gauge(
    "kinerja_relay_lag_seconds",
    "Age in seconds of the oldest event not yet published by the relay.",
    ["service"],
)
PROJECTION_APPLIED = Counter(
    "kinerja_projection_events_applied_total",
    "Events a projection applied to its read model.",
    ["projection"],
)
PROJECTION_DUPLICATES = Counter(
    "kinerja_projection_duplicates_skipped_total",
    "Redelivered events a projection recognised and skipped.",
    ["projection"],
)
CONSUMER_LAG = Gauge(
    "kinerja_consumer_lag_messages",
    "Messages between a projection's committed offset and the partition's end.",
    ["projection", "topic", "partition"],
)
DEAD_LETTERS = Counter(
    "kinerja_dead_letters_total",
    "Messages a projection gave up on and sent to the dead-letter topic.",
    ["projection", "topic"],
)


def metrics_app() -> ASGIApp:
    """An ASGI app serving the default registry, to mount at `/metrics`."""
    app: ASGIApp = make_asgi_app()
    return app


def serve_metrics(port: int | None) -> None:
    """For worker processes without an HTTP app (relay, projection runner): /metrics on a
    port of their own, in a daemon thread. None or 0: no endpoint."""
    if port:
        start_http_server(port)
