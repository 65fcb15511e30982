"""Cases measured in rounds, interleaved (every case once, then again), each reported by its
median round: load that drifts during a run falls on every case alike."""

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import replace

from tests.bench.environment import Bench, log, settle
from tests.bench.results import Case, Suite

Measure = Callable[[], Awaitable[Case]]


def run_rounds(suite: Suite, bench: Bench, cases: list[tuple[str, Measure]]) -> None:
    """Run every case `bench.rounds` times; a case that fails once is reported and dropped."""
    found: dict[str, list[Case]] = {label: [] for label, _ in cases}
    failed: set[str] = set()
    for round_number in range(1, bench.rounds + 1):
        for label, measure in cases:
            if label in failed:
                continue
            try:
                case = asyncio.run(_settled(bench, measure))
            except Exception as error:
                log(f"{suite.name}: {label} FAILED: {error!r}")
                suite.fail(f"{label} (round {round_number})", error)
                failed.add(label)
                continue
            log(
                f"{suite.name} round {round_number}/{bench.rounds}: {case.name}: "
                f"{case.events:,} in {case.seconds:.2f}s = {case.value:,.0f} {case.unit}"
            )
            found[label].append(case)
    suite.cases += [median(runs) for runs in found.values() if runs]


async def _settled(bench: Bench, measure: Measure) -> Case:
    await settle(bench.database_url)
    return await measure()


def median(runs: list[Case]) -> Case:
    """The round with the median result (the lower middle of an even count), with the spread
    of all rounds beside it."""
    ordered = sorted(runs, key=lambda case: case.value)
    middle = ordered[(len(ordered) - 1) // 2]
    if len(runs) == 1:
        return middle
    values = [case.value for case in runs]
    spread = (max(values) - min(values)) / statistics.median(values)
    note = f"median of {len(runs)} rounds: " + ", ".join(f"{v:,.0f}" for v in values)
    extra = {**middle.extra, "spread %": spread * 100}
    return replace(middle, extra=extra, note=note, rounds=values)
