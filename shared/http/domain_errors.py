"""Domain refusals as problems: the same error means the same status in every service."""

from fastapi import FastAPI, Request
from fastapi.responses import Response

from shared.domain.errors import NotAllowed, NotFound, NotYetSeen, RuleViolation, WrongState
from shared.http.problems import Conflict, Forbidden, Problem, Unprocessable
from shared.http.problems import NotFound as NotFoundProblem
from shared.store.errors import ConcurrencyError, SubjectMismatch


def as_problem(error: Exception) -> Problem:
    match error:
        case RuleViolation():
            return Unprocessable(
                error.message, errors=[{"field": f"body.{error.field}", "message": error.message}]
            )
        case NotYetSeen():
            return Conflict(
                f"{error} yet; retry in a moment",
                slug="not-yet-seen",
                headers={"Retry-After": "1"},
            )
        case WrongState():
            return Conflict(str(error), slug="wrong-state")
        case ConcurrencyError():
            return Conflict(
                "another change to the same record came first; reload it and try again",
                slug="concurrent-change",
            )
        case NotFound():
            return NotFoundProblem(str(error))
        case NotAllowed():
            return Forbidden(str(error))
        case SubjectMismatch():
            return Unprocessable(str(error), errors=[])
    raise TypeError(f"not a domain error: {error!r}")


def install_domain_error_handlers(app: FastAPI) -> None:
    async def answer(request: Request, error: Exception) -> Response:
        return as_problem(error).response()

    for kind in (
        RuleViolation,
        WrongState,
        ConcurrencyError,
        NotFound,
        NotAllowed,
        SubjectMismatch,
    ):
        app.add_exception_handler(kind, answer)
