"""The rules a result is judged and paid by, for one agency and year, and the output event
other systems act on: the predicate with its credit-point percentage and tukin factor."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.appraisal.domain.outputs import TukinRule, credit_point_percentage
from services.appraisal.domain.predikat import UnitHeadMapping
from shared.contracts.appraisal import PredikatCause, PredikatDetermined

if TYPE_CHECKING:
    from services.appraisal.domain.evaluation import Result


@dataclass(frozen=True)
class ResultRules:
    """`curve_version` names the distribution-curve rules in force for the year: the result
    records it, so an auditor knows which limits the leader weighed."""

    curve_version: str
    tukin: TukinRule
    unit_head: UnitHeadMapping

    def determined(
        self, evaluation_id: str, year: int, period: str, result: "Result", cause: PredikatCause
    ) -> PredikatDetermined:
        nip = evaluation_id.split(":")[0]
        return PredikatDetermined(
            evaluation_id=evaluation_id, nip=nip, year=year, period=period,
            predikat=result.predikat, hasil_kerja=result.hasil_kerja,
            perilaku_kerja=result.perilaku_kerja, cause=cause, rules_version=self.curve_version,
            credit_point_percentage=credit_point_percentage(result.predikat),
            tukin_factor=self.tukin.factor(result.predikat), tukin_rule_version=self.tukin.version,
        )  # fmt: skip
