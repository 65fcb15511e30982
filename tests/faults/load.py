"""Clients writing through a fault: each posts single entries and small batches, every request
with an `Idempotency-Key` of its own, and retries every failure (a cut connection, a 5xx, a 503,
a 409 that says retry or that the key is in progress) with the same key and the same body
until it is answered 2xx, as a client that must not lose a pegawai's entry does. Every attempt
and answer is kept, for the checks and the figures."""

import asyncio
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from shared.http.problems import PROBLEM_TYPE_PREFIX
from tests.support.services import as_

RETRY_SECONDS = 0.25  # after a failure that names no Retry-After
RETRY_AFTER_CAP = 3.0  # a Retry-After is obeyed up to this, to keep the suite bounded
REQUEST_TIMEOUT = 10.0
# a 409 that says the request itself can never succeed: a bug of the test, or a broken key
FINAL_CONFLICTS = {"idempotency-key-reused"}


@dataclass(frozen=True)
class Attempt:
    sent: float  # time.monotonic()
    answered: float
    status: int | None  # None: no answer (connection refused, cut, timed out)
    what: str  # "201", "503 retry-after=1", "409 idempotency-key-in-progress", "ReadError"
    retry_after: str | None = None


@dataclass
class Key:
    """One request (single entry or batch) and every attempt made with its key."""

    key: str
    path: str
    body: dict[str, Any]
    descriptions: list[str]
    attempts: list[Attempt] = field(default_factory=list)
    entry_ids: list[str] = field(default_factory=list)  # from the 2xx answer
    done: bool = False
    replayed: bool = False  # the 2xx said Idempotent-Replayed
    refused: str | None = None  # a final 4xx: the request was never going to succeed
    probe: bool = False  # one of the probe's fresh keys

    @property
    def retries(self) -> int:
        return max(len(self.attempts) - 1, 0)

    def last(self) -> str:
        return self.attempts[-1].what if self.attempts else "never sent"


@dataclass
class Load:
    """`clients` concurrent clients of the journal as the pegawai (`nip`) on one indicator of
    their approved SKP (`skp` = skp_id, rhk_id, indicator_id) of `year`."""

    url: str
    scenario: str
    nip: str
    year: int
    skp: tuple[str, str, str]
    clients: int = 6
    batch_every: int = 3  # every third request of a client is a batch
    batch_size: int = 4
    pace: float = 0.1  # between one client's requests
    keys: list[Key] = field(default_factory=list)
    deadline: float = float("inf")  # monotonic: no attempt starts after it
    in_flight: int = 0  # requests sent and not yet answered
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def entry(self, description: str, day: int) -> dict[str, Any]:
        skp_id, rhk_id, indicator_id = self.skp
        when = date(self.year, 1, 1) + timedelta(days=day % 364)
        return {
            "skp_id": skp_id, "rhk_id": rhk_id, "indicator_id": indicator_id,
            "date": when.isoformat(), "description": description, "realised_value": 1,
            "evidence": [{"uri": f"s3://faults/{description}.pdf", "sha256": "ab" * 32}],
        }  # fmt: skip

    def new_key(self, client: int, number: int) -> Key:
        """The client's `number`th request; client `clients` is the probe: singles only."""
        key = f"{self.scenario}-c{client}-{number}"
        if client < self.clients and number % self.batch_every == self.batch_every - 1:
            descriptions = [f"{key}#{n}" for n in range(self.batch_size)]
            entries = [self.entry(d, client * 41 + number + n) for n, d in enumerate(descriptions)]
            made = Key(key, "/entries/batch", {"entries": entries}, descriptions)
        else:
            made = Key(key, "/entries", self.entry(key, client * 41 + number), [key])
            made.probe = client == self.clients
        self.keys.append(made)
        return made

    async def send(self, client: httpx.AsyncClient, key: Key) -> None:
        """Until answered 2xx, refused for good, or the deadline passes; same key, same body."""
        headers = {
            **as_(self.nip),
            "Idempotency-Key": key.key,
            # every attempt of a key under one correlation id: its events carry it
            "X-Correlation-ID": key.key,
        }
        while time.monotonic() < self.deadline and len(key.attempts) < 10_000:
            sent = time.monotonic()
            self.in_flight += 1
            try:
                answer = await client.post(key.path, json=key.body, headers=headers)
            except httpx.TransportError as error:
                key.attempts.append(Attempt(sent, time.monotonic(), None, type(error).__name__))
                await asyncio.sleep(RETRY_SECONDS)
                continue
            finally:
                self.in_flight -= 1
            retry_after = answer.headers.get("Retry-After")
            what = f"{answer.status_code}"
            slug = _slug(answer)
            if slug:
                what += f" {slug}"
            if retry_after is not None:
                what += f" retry-after={retry_after}"
            key.attempts.append(
                Attempt(sent, time.monotonic(), answer.status_code, what, retry_after)
            )
            if answer.is_success:
                found = answer.json()
                touched = found if isinstance(found, list) else [found]
                key.entry_ids = [t["entry_id"] for t in touched]
                key.replayed = answer.headers.get("Idempotent-Replayed") == "true"
                key.done = True
                return
            if answer.status_code in (409, 429) and slug not in FINAL_CONFLICTS:
                pass  # in progress, not yet seen, a conflict of the moment: retry
            elif answer.status_code < 500:
                key.refused = f"{what}: {answer.text[:300]}"
                return
            await asyncio.sleep(_pause(retry_after))

    async def client(self, number: int) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=REQUEST_TIMEOUT) as client:
            made = 0
            while not self.stopping.is_set() and time.monotonic() < self.deadline:
                await self.send(client, self.new_key(number, made))
                made += 1
                await asyncio.sleep(self.pace)

    def stop(self, drain_seconds: float) -> None:
        """No new key from now on; what is under way may retry for `drain_seconds` more."""
        self.stopping.set()
        self.deadline = time.monotonic() + drain_seconds

    async def probe(self, every: float) -> None:
        """A fresh single entry every `every` seconds, each retried as the clients do, but
        without waiting for the one before: when writes work again after a fault, whatever
        the clients' keys from before it are stuck on."""
        async with httpx.AsyncClient(base_url=self.url, timeout=REQUEST_TIMEOUT) as client:
            sending: set[asyncio.Task[None]] = set()
            made = 0
            while not self.stopping.is_set() and time.monotonic() < self.deadline:
                task = asyncio.create_task(self.send(client, self.new_key(self.clients, made)))
                sending.add(task)
                task.add_done_callback(sending.discard)
                made += 1
                await asyncio.sleep(every)
            await asyncio.gather(*sending)

    async def run(self, probe_every: float = 0.5) -> None:
        clients = [self.client(n) for n in range(self.clients)]
        await asyncio.gather(*clients, self.probe(probe_every))

    # -- what happened ------------------------------------------------------------------

    def attempts(self) -> list[Attempt]:
        return [a for k in self.keys for a in k.attempts]

    def recovered_after(self, moment: float) -> float | None:
        """Seconds from `moment` until fresh writes work again for good: the first answer of
        the probe's first attempts (one fresh key each half second) that succeeded after the
        last that failed; 0 if none failed, None if they still failed at the end."""
        firsts = sorted(
            (k.attempts[0] for k in self.keys if k.probe and k.attempts),
            key=lambda a: a.sent,
        )
        firsts = [a for a in firsts if a.sent >= moment]
        failed = [a for a in firsts if not _succeeded(a)]
        if not failed:
            return 0.0
        later = [a for a in firsts if a.sent > failed[-1].sent and _succeeded(a)]
        return later[0].answered - moment if later else None

    def statuses(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for attempt in self.attempts():
            name = str(attempt.status) if attempt.status is not None else attempt.what
            counted[name] = counted.get(name, 0) + 1
        return dict(sorted(counted.items()))


def _succeeded(attempt: Attempt) -> bool:
    return attempt.status is not None and 200 <= attempt.status < 300


def _slug(answer: httpx.Response) -> str | None:
    if "json" not in answer.headers.get("content-type", "") or answer.is_success:
        return None
    try:
        document = answer.json()
    except ValueError:
        return None
    kind = document.get("type") if isinstance(document, dict) else None
    return kind.removeprefix(PROBLEM_TYPE_PREFIX) if isinstance(kind, str) else None


def _pause(retry_after: str | None) -> float:
    if retry_after is None:
        return RETRY_SECONDS
    try:
        return min(max(float(retry_after), 0.0), RETRY_AFTER_CAP)
    except ValueError:  # an HTTP date: not what our services send
        return RETRY_AFTER_CAP


@dataclass
class Readiness:
    """What `/readyz` answered through the scenario, every quarter second: (when, status or
    None for no answer)."""

    url: str
    seen: list[tuple[float, int | None]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while not self.stopping.is_set():
                asked = time.monotonic()
                try:
                    status: int | None = (await client.get("/readyz")).status_code
                except httpx.TransportError:
                    status = None
                self.seen.append((asked, status))
                await asyncio.sleep(0.25)

    def not_ready_seconds(self) -> float:
        """How long, in all, it answered anything but 200 (or nothing)."""
        total = 0.0
        for (when, status), (after, _) in zip(self.seen, self.seen[1:], strict=False):
            if status != 200:
                total += after - when
        return total
