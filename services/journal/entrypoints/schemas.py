"""Request and response bodies of the journal API (API.md, journal section)."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.journal import Evidence
from shared.http.bodies import Quantity, RequestBody


class Body(RequestBody):
    model_config = ConfigDict(str_strip_whitespace=True)


class Realised(Body):
    date: date
    description: str = Field(min_length=1, max_length=4000)
    realised_value: Quantity | None = None
    realised_text: str | None = Field(default=None, max_length=4000)
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)


class NewEntry(Realised):
    skp_id: str
    rhk_id: str
    indicator_id: str


class EntryBatch(Body):
    entries: list[NewEntry] = Field(min_length=1, max_length=5000)


class Feedback(Body):
    text: str = Field(min_length=1, max_length=4000)


class NewActionPlan(Body):
    skp_id: str
    indicator_id: str
    period: str = Field(pattern=r"^(Q[1-4]|M(0[1-9]|1[0-2]))$")
    planned_value: Quantity | None = None
    planned_text: str | None = Field(default=None, max_length=4000)


class EntryTouched(BaseModel):
    entry_id: str
    version: int


class PlanTouched(BaseModel):
    plan_id: str
    version: int
