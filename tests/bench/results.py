"""What a benchmark run found, as a markdown report and as JSON."""

import json
import statistics
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
# columns first in this order; others before the last
ORDER = ["transactions/s", "client CPU µs/event", "server CPU µs/event", "wall s", "spread %"]


@dataclass
class Case:
    """One measured case: `value` in `unit` (a rate, or megabytes for the memory suite)."""

    key: str
    name: str
    events: int
    seconds: float
    value: float
    unit: str
    extra: dict[str, float] = field(default_factory=dict)
    note: str = ""
    rounds: list[float] = field(default_factory=list)  # every round's value, in run order


@dataclass
class Check:
    """A ratio or limit the issue names, with its goal; `passed` None: informational only."""

    name: str
    value: float | None
    goal: str
    passed: bool | None
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        return {True: "PASS", False: "MISS", None: "info"}[self.passed]


@dataclass
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def case(self, key: str) -> Case | None:
        return next((c for c in self.cases if c.key == key), None)

    def fail(self, where: str, error: BaseException) -> None:
        lines = traceback.format_exception(error)
        self.errors.append(f"{where}: {error!r}\n{''.join(lines[-6:])}")

    def ratio(self, name: str, top: str, bottom: str, goal: float | None, goal_text: str) -> None:
        """top / bottom of two rates; a missing case makes the check n/a, not a crash."""
        a, b = self.case(top), self.case(bottom)
        if a is None or b is None or b.value == 0:
            missing = top if a is None else bottom
            self.checks.append(Check(name, None, goal_text, None, f"{missing} did not run"))
            return
        value = a.value / b.value
        detail = f"{a.value:,.0f} / {b.value:,.0f} {a.unit}"
        if len(a.rounds) == len(b.rounds) > 1 and all(b.rounds):
            # rounds ran side by side, so each round's ratio is one paired measurement
            paired = [x / y for x, y in zip(a.rounds, b.rounds, strict=True)]
            value = statistics.median(paired)
            detail = "median of per-round ratios " + ", ".join(f"{r:.2f}" for r in paired)
        passed = None if goal is None else value >= goal
        self.checks.append(Check(name, value, goal_text, passed, detail))


@dataclass
class Report:
    command: str
    machine: dict[str, Any] = field(default_factory=dict)
    suites: list[Suite] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def write_json(self, path: Path = RESULTS / "latest.json") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        for suite in data["suites"]:
            for check in suite["checks"]:
                check["verdict"] = Check(**check).verdict
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")
        return path

    def markdown(self) -> str:
        out = ["# Kinerja benchmark", "", f"Command: `{self.command}`", ""]
        out += ["| machine | |", "|---|---|"]
        out += [f"| {key} | {_cell(value)} |" for key, value in self.machine.items()]
        for error in self.errors:
            out += ["", "**Run failed:**", "", "```", error.rstrip(), "```"]
        for suite in self.suites:
            out += ["", f"## {suite.name}", ""]
            out += _cases_table(suite.cases)
            if suite.checks:
                out += ["", "| check | value | goal | verdict | detail |", "|---|--:|---|---|---|"]
                out += [
                    f"| {c.name} | {_number(c.value)} | {c.goal} | **{c.verdict}** | {c.detail} |"
                    for c in suite.checks
                ]
            out += ["", *(f"- {note}" for note in suite.notes)] if suite.notes else []
            for error in suite.errors:
                out += ["", "**Failed:**", "", "```", error.rstrip(), "```"]
        return "\n".join(out) + "\n"


def _cases_table(cases: list[Case]) -> list[str]:
    if not cases:
        return ["(no case finished)"]
    extras = sorted(
        dict.fromkeys(key for case in cases for key in case.extra),
        key=lambda key: ORDER.index(key) if key in ORDER else len(ORDER) - 1,
    )
    head = ["case", "events", "seconds", "result", *extras, "note"]
    rows = [
        "| " + " | ".join(head) + " |",
        "|---|--:|--:|--:|" + "--:|" * len(extras) + "---|",
    ]
    for case in cases:
        cells = [
            case.name,
            f"{case.events:,}",
            f"{case.seconds:.2f}",
            f"{_number(case.value)} {case.unit}",
            *(_number(case.extra.get(key)) for key in extras),
            case.note,
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
