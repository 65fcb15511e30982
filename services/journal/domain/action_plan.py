"""Rencana aksi: per indicator and period, what the pegawai plans to deliver, so the
periodic evaluation can set plan against realisation. Setting it again replaces the plan;
each setting stays in the history."""

from services.journal.domain.view import SkpView
from shared.contracts.journal import ActionPlanSet
from shared.domain.aggregate import Aggregate
from shared.domain.errors import NotAllowed, RuleViolation, WrongState
from shared.events.model import DomainEvent


def plan_id(skp_id: str, indicator_id: str, period: str) -> str:
    return f"{skp_id}-{indicator_id}-{period}"


class ActionPlan(Aggregate):
    stream_prefix = "plan"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.planned_value: float | None = None
        self.planned_text: str | None = None

    def set(
        self,
        actor_nip: str | None,
        skp: SkpView,
        indicator_id: str,
        period: str,
        planned_value: float | None,
        planned_text: str | None,
    ) -> None:
        if actor_nip != skp.nip:
            raise NotAllowed(f"only pegawai {skp.nip} plans their SKP's work")
        if not skp.approved:
            raise WrongState(
                f"SKP {skp.skp_id} is not approved as far as the journal has seen; plans wait"
                " for its approval (if it was approved a moment ago, retry)"
            )
        indicator = skp.indicators.get(indicator_id)
        if indicator is None:
            raise RuleViolation(
                "indicator_id", f"indicator {indicator_id} is not in SKP {skp.skp_id}"
            )
        if period not in skp.periods:
            raise RuleViolation(
                "period", f"{period} is not a period of {skp.year}: {', '.join(skp.periods)}"
            )
        if indicator.quantitative and (planned_value is None or planned_value < 0):
            raise RuleViolation(
                "planned_value", "a quantitative indicator plans a value of 0 or more"
            )
        if not indicator.quantitative and not (planned_text or "").strip():
            raise RuleViolation("planned_text", "a qualitative indicator plans in words")
        if (self.planned_value, self.planned_text) == (planned_value, planned_text) and self.exists:
            return  # the same plan again: nothing new
        self._record(
            ActionPlanSet(
                plan_id=self.identity, nip=skp.nip, skp_id=skp.skp_id, indicator_id=indicator_id,
                period=period, planned_value=planned_value, planned_text=planned_text,
            )
        )  # fmt: skip

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case ActionPlanSet():
                self.planned_value, self.planned_text = event.planned_value, event.planned_text
            case _:
                super()._apply(event)
