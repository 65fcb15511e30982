"""How long to wait before starting again something that ended by itself: the journal's
worker process (restarted by its API's process) and, locally, each service (restarted by
`deploy.local.supervisor`).

The delays double from `first` up to `cap`, as tenacity's `wait_exponential(min=first,
max=cap)` does between retries; unlike a retry loop, a restarted process may then run for
hours, so a run that lasted `reset_after` seconds starts the count again: a process that
crashes once a day is back in a second each time, one that crashes at once waits longer
and longer, never more than `cap`."""

from dataclasses import dataclass, field


@dataclass
class Backoff:
    first: float = 1.0
    cap: float = 30.0
    reset_after: float = 60.0
    _next: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._next = self.first

    def after(self, ran_for: float) -> float:
        """The delay before the next start, given how long the run that ended lasted."""
        if ran_for >= self.reset_after:
            self._next = self.first
        delay = self._next
        self._next = min(self._next * 2, self.cap)
        return delay
