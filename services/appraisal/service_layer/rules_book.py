"""The agency's rules, read once per year from the rules files and kept: the curve, the tukin
rule and the unit-head mapping a result is judged and paid by."""

from functools import cache
from pathlib import Path

from services.appraisal.adapters.rules_files import (
    load_curve_rules,
    load_tukin_rule,
    load_unit_head_mapping,
)
from services.appraisal.domain.distribution import CurveRules
from services.appraisal.domain.results import ResultRules


class RulesBook:
    def __init__(self, agency: str, folder: Path | None = None) -> None:
        self.agency = agency
        self.folder = folder
        self.curve = cache(self._curve)
        self.results = cache(self._results)

    def _curve(self, year: int) -> CurveRules:
        return load_curve_rules(self.agency, year, self.folder)

    def _results(self, year: int) -> ResultRules:
        return ResultRules(
            curve_version=self.curve(year).version,
            tukin=load_tukin_rule(self.agency, self.folder),
            unit_head=load_unit_head_mapping(self.folder),
        )
