"""Request and response bodies of the appraisal API (API.md, appraisal section)."""

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.appraisal import AppealOutcome, OrganisationPredikat, Rating
from shared.http.bodies import RequestBody


class Body(RequestBody):
    model_config = ConfigDict(str_strip_whitespace=True)


class NewRating(Body):
    hasil_kerja: Rating | None = Field(
        default=None, description="omit for a unit head: it follows the unit's predicate"
    )
    perilaku_kerja: Rating
    note: str | None = Field(default=None, max_length=4000)


class NewAppeal(Body):
    reason: str = Field(min_length=1, max_length=4000)


class Decision(Body):
    outcome: AppealOutcome
    hasil_kerja: Rating | None = None
    perilaku_kerja: Rating | None = None
    note: str = Field(min_length=1, max_length=4000)


class UnitPredicate(Body):
    predikat: OrganisationPredikat


class Rated(BaseModel):
    evaluation_id: str
    predikat: str | None
    version: int


class PredicateSet(BaseModel):
    id: str
    predikat: str
    version: int
