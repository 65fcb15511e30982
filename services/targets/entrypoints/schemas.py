"""Request and response bodies of the targets API (API.md, targets section)."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.targets import Approach, Aspect, Frequency, JobType, Perspective, RhkKind
from shared.domain.nip import Nip
from shared.http.bodies import CalendarYear, Quantity, RequestBody


class Body(RequestBody):
    model_config = ConfigDict(str_strip_whitespace=True)


class NewUnit(Body):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    parent_code: str | None = None


class NewEmployee(Body):
    nip: Nip
    name: str = Field(min_length=1, max_length=200)
    position: str = Field(min_length=1, max_length=200)
    unit_code: str = Field(min_length=1)
    job_type: JobType


class SupervisorChange(Body):
    supervisor_nip: Nip
    effective_from: date


class HeadAppointment(Body):
    head_nip: Nip
    effective_from: date


class NewYear(Body):
    year: CalendarYear
    frequency: Frequency


class NewSkp(Body):
    nip: Nip
    year: CalendarYear
    approach: Approach


class NewIndicatorBody(Body):
    aspect: Aspect
    text: str = Field(min_length=1, max_length=1000)
    target_value: Quantity | None = None
    target_unit: str | None = None
    target_text: str | None = None


class NewRhk(Body):
    text: str = Field(min_length=1, max_length=2000)
    kind: RhkKind
    parent_rhk_id: str | None = None
    perspective: Perspective | None = None
    indicators: list[NewIndicatorBody] = Field(default_factory=list, max_length=20)


class Expectations(Body):
    expectations: dict[str, str]


class Reason(Body):
    reason: str = Field(min_length=1, max_length=2000)


class Touched(BaseModel):
    """The id a command made or touched, and the stream version after it."""

    id: str
    version: int


class SkpTouched(BaseModel):
    skp_id: str
    version: int


class RhkTouched(BaseModel):
    rhk_id: str
    indicator_ids: list[str]
    version: int
