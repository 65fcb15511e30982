"""One stream's hash chain, checked as its events arrive one at a time, in bounded memory.

The store hands each version exactly once, in order. A topic is delivered at least once, so a
version may come again. A re-send is told from a forgery without keeping past events: a re-sent
run of older versions must link step by step until its version head-1 has the hash the head
names, which by the chain's construction proves every event of the run identical to the one
first delivered. A run cut short (the publisher crashed again) stays a claim until a later run
passes its last version with the same hash.
"""

from dataclasses import dataclass, replace
from uuid import UUID

from shared.events.canonical import GENESIS_HASH
from shared.events.envelope import Envelope
from shared.verification.report import STORE, Break, Kind, short


@dataclass(frozen=True, slots=True)
class Link:
    """The newest event seen of a stream: what its successor must name."""

    version: int
    hash: str
    event_id: UUID
    previous_hash: str
    # versions since..version have all been seen; below `since` lies a gap (or version 1)
    since: int = 1


@dataclass(slots=True)
class _Run:
    """Older versions arriving again, linked to each other, not yet shown to be a re-send."""

    where: str  # of its first message, where a run never vouched for is reported
    first_version: int
    version: int
    hash: str


class StreamChain:
    """Follows one stream: feed it every event of the stream in arrival order."""

    __slots__ = ("_claims", "_run", "head", "stream_id")

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.head: Link | None = None
        self._run: _Run | None = None
        self._claims: list[_Run] = []  # runs cut short, waiting for a later run to vouch

    def follow(self, event: Envelope, where: str) -> list[Break]:
        """The breaks this event shows, given everything before it."""
        breaks = [] if event.is_intact() else [self._edited(event, where)]
        if breaks and self.head is not None and event.stream_version <= self.head.version:
            # an altered copy of a version already seen can neither extend nor vouch for the chain
            return breaks
        run, head = self._run, self.head
        if run is not None and head is not None:
            if event.stream_version == run.version + 1 and event.previous_hash == run.hash:
                return breaks + self._run_on(head, run, event, where)
            self._claims.append(run)
            self._run = None
        return breaks + self._extend(event, where)

    def finish(self) -> list[Break]:
        """Breaks only the end can tell: re-sent versions that never rejoined the head."""
        unvouched = [*self._claims, *([self._run] if self._run else [])]
        self._claims, self._run = [], None
        return [self._unvouched(run) for run in unvouched]

    def _extend(self, event: Envelope, where: str) -> list[Break]:
        head, version = self.head, event.stream_version
        if head is not None and version <= head.version:
            return self._look_back(head, event, where)
        expected, named = (1, GENESIS_HASH) if head is None else (head.version + 1, head.hash)
        since = version if head is None or version > expected else head.since
        self.head = Link(version, event.hash, event.event_id, event.previous_hash, since)
        if version > expected:
            # the predecessor this event names is not here, so its link cannot be judged
            detail = f"{_versions(expected, version - 1)} absent before version {version}"
            return [self._break(where, expected, Kind.MISSING, detail)]
        if event.previous_hash != named:
            detail = (
                f"names predecessor {short(event.previous_hash)}, but version {expected - 1}"
                f" has hash {short(named)}"
                if head
                else f"version 1 names predecessor {short(event.previous_hash)}, not genesis"
            )
            return [self._break(where, version, Kind.BROKEN_LINK, detail)]
        return []

    def _look_back(self, head: Link, event: Envelope, where: str) -> list[Break]:
        version = event.stream_version
        if version == head.version:
            if event.event_id == head.event_id and event.hash == head.hash:
                return []  # at-least-once: the same event delivered again
            return [self._forged_head(head, event, where)]
        run = self._run = _Run(where, version, version, event.hash)
        return self._run_on(head, run, event, where)

    def _run_on(self, head: Link, run: _Run, event: Envelope, where: str) -> list[Break]:
        """The run takes `event` as its next version; at head-1 it rejoins the head or fails."""
        run.version, run.hash = event.stream_version, event.hash
        breaks = self._vouch(run)
        if run.version == head.since - 1:
            # the top of a gap: delivered now for the first time, after its successors
            detail = f"version {run.version} first arrived after version {head.version}"
            breaks.append(self._break(where, run.version, Kind.REORDERED, detail))
            self.head = replace(head, since=run.first_version)
        if run.version < head.version - 1:
            return breaks
        self._run = None
        if run.hash != head.previous_hash:
            by = f"version {head.version} names"
            return [*breaks, self._forged_run(run, head.previous_hash, by)]
        return breaks  # rejoined the head: everything in the run was sent before, unchanged

    def _vouch(self, run: _Run) -> list[Break]:
        """Claims ending where the run now is: the same hash there makes them the same run."""
        ending_here = [claim for claim in self._claims if claim.version == run.version]
        self._claims = [claim for claim in self._claims if claim.version != run.version]
        return [
            self._forged_run(claim, run.hash, "a later re-send has")
            for claim in ending_here
            if claim.hash != run.hash
        ]

    def _edited(self, event: Envelope, where: str) -> Break:
        detail = (
            f"recorded hash {short(event.hash)}, but the content hashes to"
            f" {short(event.computed_hash())}"
        )
        return self._break(where, event.stream_version, Kind.EDITED, detail)

    def _forged_head(self, head: Link, event: Envelope, where: str) -> Break:
        if event.event_id == head.event_id:
            detail = (
                f"event {event.event_id} came before with hash {short(head.hash)},"
                f" now with {short(event.hash)}"
            )
        else:
            detail = f"event {event.event_id} claims version {head.version} of {head.event_id}"
        return self._break(where, event.stream_version, Kind.FORGED, detail)

    def _forged_run(self, run: _Run, expected: str, by: str) -> Break:
        detail = (
            f"{_versions(run.first_version, run.version)} came again ending in hash"
            f" {short(run.hash)}, but {by} {short(expected)}"
        )
        return self._break(run.where, run.first_version, Kind.FORGED, detail)

    def _unvouched(self, run: _Run) -> Break:
        head_version = self.head.version if self.head else 0
        detail = (
            f"{_versions(run.first_version, run.version)} came after version {head_version}"
            " and never proved a re-send of the first delivery"
        )
        return self._break(run.where, run.first_version, Kind.REORDERED, detail)

    def _break(self, where: str, version: int | None, kind: Kind, detail: str) -> Break:
        return Break(where, self.stream_id, version, kind, detail)


def _versions(first: int, last: int) -> str:
    return f"version {first}" if first == last else f"versions {first}..{last}"


def head_breaks(
    stream_id: str, last: Link | None, version: int | None, last_hash: str | None
) -> list[Break]:
    """Whether a stream's recorded head (streams.version, last_hash) is its last stored event."""
    disagreement = _head_disagreement(last, version, last_hash)
    if disagreement is None:
        return []
    at, kind, detail = disagreement
    return [Break(STORE, stream_id, at, kind, detail)]


def _head_disagreement(
    last: Link | None, version: int | None, last_hash: str | None
) -> tuple[int | None, Kind, str] | None:
    if version is None or last_hash is None:
        return (last.version if last else None), Kind.HEAD_MISMATCH, "no head recorded in streams"
    if last is None:
        return 1, Kind.MISSING, f"head says version {version}, but no event is stored"
    if version > last.version:
        detail = f"head says version {version}, the newest stored event is {last.version}"
        return last.version + 1, Kind.MISSING, detail
    if version < last.version:
        detail = f"head says version {version}, but events go up to {last.version}"
        return last.version, Kind.HEAD_MISMATCH, detail
    if last_hash != last.hash:
        detail = f"head hash {short(last_hash)}, but version {version} has {short(last.hash)}"
        return last.version, Kind.HEAD_MISMATCH, detail
    return None
