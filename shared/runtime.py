"""How every Kinerja process starts: logs configured, and the garbage collector set for a
process that streams events.

Python's cyclic collector runs after every 700 net new container objects and walks all the
young ones. Decoding, applying or sealing an event makes a few dozen (an envelope, its
payload, headers, row tuples) that die with their batch, so at the default a replay spent a
fifth of its time collecting (tests/bench: 27,000 events/s at the default, 33,000 with the
settings below; the bare consume loop the replay is judged against gains too, and the
benchmark sets both alike). Objects alive once the process has started (modules, classes,
settings) are frozen out of every collection. What is collected less often is only cyclic
garbage: reference counting still frees everything else at once, so memory stays flat (the
memory benchmark watches it).
"""

import gc

from shared.config import KinerjaSettings
from shared.observability.logging import configure_logging

# young objects before a collection; young collections before a middle one; middle before
# an old one
COLLECTOR_THRESHOLDS = (50_000, 20, 100)


def tune_garbage_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def start_process(name: str, settings: KinerjaSettings) -> None:
    """Call once at a process's start, after its imports: JSON logs named `name`, and the
    collector tuned."""
    configure_logging(name, settings.log_level, settings.log_json)
    tune_garbage_collector()
