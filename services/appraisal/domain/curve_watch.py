"""The watch on a unit's distribution curve for one period: it records a judgement each time
the answer changes (holds or not, and which limits are breached), never the same twice."""

from services.appraisal.domain.distribution import DistributionVerdict
from shared.contracts.appraisal import Breach, DistributionJudged
from shared.domain.aggregate import Aggregate
from shared.events.model import DomainEvent


class CurveWatch(Aggregate):
    stream_prefix = "distribution"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.unit_code, year, self.period = identity.rsplit(":", 2)
        self.year = int(year)
        self.last: tuple[bool, tuple[Breach, ...]] | None = None

    def judge(self, verdict: DistributionVerdict) -> None:
        breaches = tuple(
            Breach(rule=b.rule, limit=b.limit, actual=b.actual) for b in verdict.breaches
        )
        if self.last == (verdict.holds, breaches) or (self.last is None and verdict.rated == 0):
            return  # nothing new to say (and nothing at all before anyone is rated)
        self._record(
            DistributionJudged(
                unit_code=self.unit_code, year=self.year, period=self.period,
                organisation_predikat=verdict.organisation_predikat,
                rules_version=verdict.rules_version, rated=verdict.rated,
                holds=verdict.holds, breaches=list(breaches),
            )
        )  # fmt: skip

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case DistributionJudged():
                self.last = (event.holds, tuple(event.breaches))
            case _:
                super()._apply(event)
