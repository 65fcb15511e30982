"""What a verification finds: breaks in a hash chain, and how much it looked at."""

from dataclasses import dataclass, field
from enum import StrEnum

STORE = "store"
UNKNOWN_STREAM = "?"


class Kind(StrEnum):
    EDITED = "edited"  # the hash no longer matches the content
    BROKEN_LINK = "broken-link"  # previous_hash does not name the previous event's hash
    MISSING = "missing"  # versions absent: deleted, or never published
    REORDERED = "reordered"  # on a topic, a version after a higher one, not proven a re-send
    FORGED = "forged"  # on a topic, a second content for a version or event id, or no event
    HEAD_MISMATCH = "head-mismatch"  # the streams table disagrees with the last stored event


@dataclass(frozen=True)
class Break:
    """One place where the record is not what was written."""

    where: str  # "store", or "topic <name> partition <p> offset <o>"
    stream_id: str
    version: int | None
    kind: str
    detail: str


@dataclass(frozen=True)
class Audit:
    """The result of walking one store or one topic."""

    breaks: list[Break] = field(default_factory=list)
    events: int = 0
    streams: int = 0


class VerificationUnavailable(RuntimeError):
    """The check could not run (database or broker unreachable, no such store or topic), which
    says nothing either way about the chain."""


def short(digest: str) -> str:
    # enough of a sha256 to tell two apart in a report line
    return digest[:12]


def one_line(text: str, limit: int = 240) -> str:
    """A parser's multi-line complaint squeezed into a report line."""
    squeezed = " ".join(text.split())
    return squeezed if len(squeezed) <= limit else squeezed[: limit - 1] + "…"
