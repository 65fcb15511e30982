"""Structured JSON logs for the whole process, carrying the correlation and causation ids."""

import logging
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from typing import TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

CORRELATION_HEADER = "ce_correlationid"
CAUSATION_HEADER = "ce_causationid"

# Kept outside structlog too, so code that does not log (HTTP middleware, the event store
# stamping new events) reads the ids without depending on structlog's internal context.
_correlation_id: ContextVar[str | None] = ContextVar("kinerja_correlation_id", default=None)
_causation_id: ContextVar[str | None] = ContextVar("kinerja_causation_id", default=None)

# The event a projection is applying: (correlation id, event id), set once per event and
# read only when a line is written. A replay applies tens of thousands of events a second
# and most write no line, so binding them into structlog's context per event (5 µs) was
# a tenth of a replay's time.
_applying: ContextVar[tuple[str, object] | None] = ContextVar("kinerja_applying", default=None)

# Libraries that attach their own handlers and stop propagation; we take their lines back.
_SELF_HANDLED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class _KinerjaHandler(logging.StreamHandler[TextIO]):
    """Our root handler, recognisable so reconfiguring replaces it instead of adding another."""


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    """Send structlog and standard-library logging through one chain to stdout."""
    numeric_level = logging.getLevelNamesMapping().get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")

    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    # Applied to both structlog calls and foreign records, so every line has the same keys.
    shared: list[Processor] = [
        add_applied_event,  # before the bound context: the event applied is the nearer cause
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        add_service,
    ]
    renderer: list[Processor] = (
        [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
        if json
        # ConsoleRenderer formats exceptions itself and warns if they arrive pre-rendered.
        else [structlog.dev.ConsoleRenderer()]
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    handler = _KinerjaHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    # Only our own earlier handler goes: others (pytest's capture, say) are not ours to remove.
    for old in [h for h in root.handlers if isinstance(h, _KinerjaHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # uvicorn.run() reinstalls these unless started with log_config=None.
    for name in _SELF_HANDLED_LOGGERS:
        library_logger = logging.getLogger(name)
        library_logger.handlers.clear()
        library_logger.propagate = True


class bind_message_context:  # used like a function: `with bind_message_context(...)`
    """Bind a message's ids (None keeps the enclosing value) and extra fields for the block.

    A class rather than a generator-based context manager: projections enter it once per
    event, and this costs a third of the generator pair it replaced.
    """

    __slots__ = (
        "_causation",
        "_causation_token",
        "_correlation",
        "_correlation_token",
        "_given",
        "_structlog_tokens",
    )

    def __init__(
        self, correlation_id: str | None, causation_id: str | None, **extra: object
    ) -> None:
        given: dict[str, object] = dict(extra)
        if correlation_id is not None:
            given["correlation_id"] = correlation_id
        if causation_id is not None:
            given["causation_id"] = causation_id
        self._given = given
        self._correlation = correlation_id
        self._causation = causation_id

    def __enter__(self) -> None:
        # setting the inherited value again still yields a token, so exit is a plain reset
        self._correlation_token = _correlation_id.set(
            _correlation_id.get() if self._correlation is None else self._correlation
        )
        self._causation_token = _causation_id.set(
            _causation_id.get() if self._causation is None else self._causation
        )
        self._structlog_tokens = structlog.contextvars.bind_contextvars(**self._given)

    def __exit__(self, *_: object) -> None:
        structlog.contextvars.reset_contextvars(**self._structlog_tokens)
        _causation_id.reset(self._causation_token)
        _correlation_id.reset(self._correlation_token)


class applying_events:  # used like a function: `with applying_events() as applying:`
    """For a batch of events applied one by one: `applying.event(...)` before each, and any
    line logged meanwhile carries that event's correlation id, and its id as the causation
    id. Costs a context variable's set per event; `bind_message_context` costs 20 times
    that."""

    __slots__ = ("_token",)

    def __enter__(self) -> "applying_events":
        self._token = _applying.set(None)
        return self

    def event(self, correlation_id: str, event_id: object) -> None:
        _applying.set((correlation_id, event_id))

    def __exit__(self, *_: object) -> None:
        _applying.reset(self._token)


def add_applied_event(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the ids of the event being applied, unless the call gave its own."""
    applying = _applying.get()
    if applying is not None:
        event_dict.setdefault("correlation_id", applying[0])
        event_dict.setdefault("causation_id", str(applying[1]))
    return event_dict


def current_correlation_id() -> str | None:
    """The correlation id bound by the innermost `bind_message_context`, if any."""
    return _correlation_id.get()


def current_causation_id() -> str | None:
    """The causation id bound by the innermost `bind_message_context`, if any."""
    return _causation_id.get()


def context_from_headers(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """Read the correlation and causation ids from Kafka record headers, where present."""
    wanted = {CORRELATION_HEADER: "correlation_id", CAUSATION_HEADER: "causation_id"}
    found: dict[str, str] = {}
    for key, value in headers:
        name = wanted.get(key)
        # Duplicates are not expected; keeping the first makes the choice deterministic.
        if name is not None and name not in found and value:
            found[name] = value.decode("utf-8", errors="replace")
    return found
