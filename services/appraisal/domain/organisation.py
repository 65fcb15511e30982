"""The predicate a unit received for a period, set by an admin; a later one replaces it."""

from shared.contracts.appraisal import OrganisationPredicateSet, OrganisationPredikat
from shared.domain.aggregate import Aggregate
from shared.domain.errors import NotFound
from shared.events.model import DomainEvent


class OrganisationPredicate(Aggregate):
    stream_prefix = "organisation-predicate"

    def __init__(self, identity: str) -> None:
        super().__init__(identity)
        self.unit_code, year, self.period = identity.rsplit(":", 2)
        self.year = int(year)
        self.predikat: OrganisationPredikat | None = None

    @staticmethod
    def id_of(unit_code: str, year: int, period: str) -> str:
        return f"{unit_code}:{year}:{period}"

    def set(self, predikat: OrganisationPredikat, set_by: str, *, unit_known: bool) -> None:
        if not unit_known:
            raise NotFound(f"there is no unit {self.unit_code} (as far as appraisal has seen)")
        if predikat == self.predikat:
            return  # said again: nothing new to record
        self._record(
            OrganisationPredicateSet(
                unit_code=self.unit_code, year=self.year, period=self.period,
                predikat=predikat, set_by=set_by,
            )
        )  # fmt: skip

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case OrganisationPredicateSet():
                self.predikat = event.predikat
            case _:
                super()._apply(event)
