"""The rules kept as data (curves, tukin, unit heads), read from TOML files (the domain
receives them built and never reads a file).

Lookup: `curves/<agency>/<year>.toml`, else `curves/<agency>/default.toml`, else
`curves/default.toml`; `tukin/<agency>.toml`, else `tukin/default.toml`; `unit_head.toml`.
The file found is taken whole: nothing is merged from a less specific one."""

import re
import tomllib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from services.appraisal.domain.distribution import CurveRules, Limit, LimitKind
from services.appraisal.domain.outputs import TukinRule
from services.appraisal.domain.predikat import UnitHeadMapping
from shared.contracts.appraisal import OrganisationPredikat, Predikat, Rating

RULES_FOLDER = Path(__file__).resolve().parents[1] / "rules"

# An agency code names a folder or file: nothing that could climb out of the rules folder.
_AGENCY = re.compile(r"[A-Za-z0-9_-]+")
_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class RulesError(ValueError):
    """A rules file is missing or malformed; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _UnitHeadFile(_File):
    version: str
    ratings: dict[OrganisationPredikat, Rating]


class _TukinFile(_File):
    version: str
    factors: dict[Predikat, float]


class _LimitEntry(_File):
    """`at_least` or `at_most`: a share as a percent string ("70%") or a count (1)."""

    at_least: StrictStr | StrictInt | None = None
    at_most: StrictStr | StrictInt | None = None
    of: list[Predikat] = Field(min_length=1)

    @field_validator("at_least", "at_most")
    @classmethod
    def _bound_is_a_share_or_a_count(cls, bound: str | int | None) -> str | int | None:
        if isinstance(bound, str):
            _share(bound)
        elif isinstance(bound, int) and bound < 0:
            raise ValueError(f"a count is not negative, not {bound}")
        return bound

    @model_validator(mode="after")
    def _one_bound(self) -> "_LimitEntry":
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("a limit has exactly one of at_least or at_most")
        return self

    def to_limit(self) -> Limit:
        kind, bound = (
            (LimitKind.AT_LEAST, self.at_least)
            if self.at_least is not None
            else (LimitKind.AT_MOST, self.at_most)
        )
        if isinstance(bound, str):
            return Limit(kind, frozenset(self.of), share=_share(bound))
        return Limit(kind, frozenset(self.of), count=bound)


class _CurveFile(_File):
    version: str
    limits: dict[OrganisationPredikat, list[_LimitEntry]]

    @model_validator(mode="after")
    def _every_organisation_predikat(self) -> "_CurveFile":
        missing = [o.value for o in OrganisationPredikat if o not in self.limits]
        if missing:
            raise ValueError(
                f"no limits for {', '.join(missing)} (write `{missing[0]} = []` for none)"
            )
        return self


def load_curve_rules(agency: str, year: int, folder: Path | None = None) -> CurveRules:
    """The curve in force for an agency's year."""
    curves = (folder or RULES_FOLDER) / "curves"
    own = curves / _agency(agency, curves)
    path = _first_existing(own / f"{year}.toml", own / "default.toml", curves / "default.toml")
    parsed = _read(path, _CurveFile)
    return _build(
        path,
        lambda: CurveRules(
            version=parsed.version,
            limits={o: tuple(e.to_limit() for e in es) for o, es in parsed.limits.items()},
        ),
    )


def load_tukin_rule(agency: str, folder: Path | None = None) -> TukinRule:
    tukin = (folder or RULES_FOLDER) / "tukin"
    path = _first_existing(tukin / f"{_agency(agency, tukin)}.toml", tukin / "default.toml")
    parsed = _read(path, _TukinFile)
    return _build(path, lambda: TukinRule(version=parsed.version, factors=parsed.factors))


def load_unit_head_mapping(folder: Path | None = None) -> UnitHeadMapping:
    path = (folder or RULES_FOLDER) / "unit_head.toml"
    parsed = _read(path, _UnitHeadFile)
    return _build(path, lambda: UnitHeadMapping(version=parsed.version, ratings=parsed.ratings))


def _agency(agency: str, folder: Path) -> str:
    if not _AGENCY.fullmatch(agency):
        raise RulesError(folder, f"not an agency code: {agency!r}")
    return agency


def _share(text: str) -> Fraction:
    match = _PERCENT.fullmatch(text)
    if match is None:
        raise ValueError(f"a share is a percent like '70%', not {text!r}")
    share = Fraction(match.group(1)) / 100
    if share > 1:
        raise ValueError(f"a share is at most 100%, not {text!r}")
    return share


def _first_existing(*candidates: Path) -> Path:
    for path in candidates:
        if path.is_file():
            return path
    raise RulesError(candidates[-1], f"no rules file; looked for {', '.join(map(str, candidates))}")


def _read(path: Path, model: type[M]) -> M:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise RulesError(path, f"cannot be read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise RulesError(path, f"not valid TOML: {error}") from error
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise RulesError(path, _problems(error)) from None


def _build(path: Path, make: Callable[[], T]) -> T:
    """The domain object, with its own checks' refusal reported against the file."""
    try:
        return make()
    except ValueError as error:
        raise RulesError(path, str(error)) from None


def _problems(error: ValidationError) -> str:
    """Pydantic's errors in one line each: where in the file, what is wrong, what was there."""
    problems = []
    for e in error.errors():
        where = ".".join(str(part) for part in e["loc"]) or "(top level)"
        got: Any = e.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float) else ""
        problems.append(f"{where}: {e['msg']}{shown}")
    return "; ".join(problems)
