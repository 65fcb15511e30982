"""`python -m tests.bench [--quick] [--only append|replay|memory] [--events N]`

Prints a markdown report and writes it as JSON to tests/bench/results/latest.json.
Exits 1 when a suite or case failed to run; a missed goal is a result, not a failure.
"""

import argparse
import os
import shlex
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from shared.observability.logging import configure_logging
from shared.runtime import tune_garbage_collector
from tests.bench import append, journal, memory, replay
from tests.bench.environment import (
    Bench,
    code_version,
    fresh_database,
    kinerja_services,
    log,
    machine_info,
)
from tests.bench.results import RESULTS, Report, Suite
from tests.support.infrastructure import check_reachable, provide

SUITES: dict[str, Callable[[Bench], Suite]] = {
    "append": append.run,
    "replay": replay.run,
    "memory": memory.run,
    "journal": journal.run,
}
# (full, --quick) event counts per suite
DEFAULTS = {
    "append": (20_000, 3_000),
    "replay": (200_000, 20_000),
    "memory": (1_000_000, 100_000),
    "journal": (50_000, 5_000),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument(
        "--only", action="append", choices=list(SUITES), help="run this suite (repeatable)"
    )
    parser.add_argument(
        "--events",
        type=int,
        metavar="N",
        help="events per case in each selected suite (append: N per transaction case and "
        "5N for the bulk cases); defaults: append 20k, replay 200k, memory 1M "
        "(--quick: 3k, 20k, 100k)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="R",
        help="rounds of the append and replay cases, each reported by its median round "
        "(default 3; --quick: 1)",
    )
    parser.add_argument(
        "--json", type=Path, default=RESULTS / "latest.json", help="where to write the JSON"
    )
    args = parser.parse_args(argv)
    if args.events is not None and args.events < 100:
        parser.error("--events must be at least 100")
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def counts(args: argparse.Namespace) -> dict[str, int]:
    chosen = {name: pair[args.quick] for name, pair in DEFAULTS.items()}
    if args.events:
        chosen = dict.fromkeys(chosen, args.events - args.events % 2)  # streams of two events
    return chosen


def command(argv: list[str]) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(Path.cwd()):  # the venv's own name, not what it links to
        python = python.relative_to(Path.cwd())
    return shlex.join([str(python), "-m", "tests.bench", *argv])


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = parse(given)
    configure_logging("bench", "WARNING", json=False)  # the kit's INFO lines would drown ours
    # as every Kinerja process starts (shared/runtime.py); baselines and ours run alike
    tune_garbage_collector()
    report = Report(command(given))
    n = counts(args)
    selected = args.only or list(SUITES)
    try:
        with provide() as infrastructure:
            check_reachable(infrastructure)
            with fresh_database(infrastructure.database_url) as url:
                report.machine = machine_info(
                    url, infrastructure.kafka_bootstrap_servers, infrastructure.source
                )
                if services := kinerja_services():
                    log(
                        f"WARNING: {len(services)} Kinerja services run beside the benchmark"
                        " and slow its cases unevenly; `make down` first"
                    )
                bench = Bench(
                    database_url=url,
                    kafka=infrastructure.kafka_bootstrap_servers,
                    append_events=n["append"],
                    bulk_events=n["append"] * 5,
                    replay_events=n["replay"],
                    memory_events=n["memory"],
                    journal_entries=n["journal"],
                    rounds=args.repeat or (1 if args.quick else 3),
                    quick=args.quick,
                )
                for name in selected:
                    log(f"suite {name}: starting")
                    report.suites.append(_run(name, bench))
                    report.write_json(args.json)  # a long run killed later keeps what it found
    except Exception as error:
        report.errors.append("".join(traceback.format_exception(error)))
    report.machine["load average at end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    code_at_end = code_version()
    if report.machine.get("code", code_at_end) != code_at_end:  # shared/ moved during the run
        report.machine["code at end"] = code_at_end
    print(report.markdown())
    log(f"results written to {report.write_json(args.json)}")
    failed = report.errors or any(suite.errors for suite in report.suites)
    return 1 if failed else 0


def _run(name: str, bench: Bench) -> Suite:
    try:
        return SUITES[name](bench)
    except Exception as error:  # one suite failing must not hide the others
        suite = Suite(name)
        suite.fail(f"suite {name}", error)
        log(f"suite {name} FAILED: {error!r}")
        return suite


if __name__ == "__main__":
    sys.exit(main())
