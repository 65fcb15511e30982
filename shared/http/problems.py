"""RFC 9457 problem documents (`application/problem+json`) for every error a service answers."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shared.observability.logging import current_correlation_id
from shared.store.db import database_away

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:kinerja:problem:"

log = structlog.get_logger(__name__)


def phrase(status: int) -> str:
    """The reason phrase of a status, or a generic one for a code HTTPStatus does not know."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class Problem(Exception):
    """An error answered as a problem document; raise a subclass from a route or dependency."""

    status = 500
    slug = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        title: str | None = None,
        slug: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.title = title or phrase(self.status)
        self.type = PROBLEM_TYPE_PREFIX + (slug or self.slug)
        self.errors = errors
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            document["errors"] = self.errors
        # Lets a caller quote the one id that finds every log line and event of the request.
        correlation_id = current_correlation_id()
        if correlation_id is not None:
            document["correlation_id"] = correlation_id
        return document

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body(), status_code=self.status, headers=self.headers, media_type=PROBLEM_JSON
        )


class Unauthorized(Problem):
    status = 401
    slug = "unauthorized"

    def __init__(self, detail: str, **more: Any) -> None:
        # RFC 6750: a 401 names the scheme the caller should use.
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **more)


class Forbidden(Problem):
    status = 403
    slug = "forbidden"


class NotFound(Problem):
    status = 404
    slug = "not-found"


class Conflict(Problem):
    status = 409
    slug = "conflict"


class PayloadTooLarge(Problem):
    status = 413
    slug = "payload-too-large"


class Unprocessable(Problem):
    status = 422
    slug = "validation-error"

    def __init__(self, detail: str, errors: list[dict[str, str]], **more: Any) -> None:
        super().__init__(detail, errors=errors, **more)


class ServiceUnavailable(Problem):
    status = 503
    slug = "unavailable"


RETRY_AFTER_SECONDS = 2


def unavailable(error: BaseException) -> Problem:
    """The 503 answering a request while a dependency is away: retry after a moment."""
    log.warning("http.dependency_away", error=repr(error))
    return ServiceUnavailable(
        "the service cannot reach its database just now; retry in a moment",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class _StatusProblem(Problem):
    """A problem for a status with no subclass of its own (from an HTTPException)."""

    def __init__(self, status: int, detail: str, headers: Mapping[str, str] | None) -> None:
        self.status = status
        slug = phrase(status).lower().replace(" ", "-")
        super().__init__(detail, slug=slug, headers=headers)


def unexpected_error(error: BaseException) -> Problem:
    """Log an error nothing handled, with its traceback, and the 500 answering it."""
    log.error("http.unexpected_error", exc_info=error)
    # The text of an unexpected error may hold data or internals; the log has it, not the caller.
    return Problem("an unexpected error occurred; the correlation id finds it in the logs")


def field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in error.errors()
    ]


async def _on_problem(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Problem)
    return error.response()


async def _on_validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return Unprocessable("the request has invalid fields", field_errors(error)).response()


async def _on_http_exception(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    detail = error.detail
    # Starlette's own 404 and 405 carry only the status phrase; say what was asked for.
    if error.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = f"nothing is at {request.url.path}"
    elif error.status_code == 405 and detail == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return _StatusProblem(error.status_code, detail, error.headers).response()


async def _on_unexpected_error(_: Request, error: Exception) -> JSONResponse:
    return unexpected_error(error).response()


async def _on_database_error(_: Request, error: Exception) -> JSONResponse:
    if database_away(error):
        return unavailable(error).response()
    return unexpected_error(error).response()


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of `app` as RFC 9457: problems, bad input, unknown routes, bugs."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected_error)
    # handled inside the middleware (not as a 500 is, outside it), so that an idempotent
    # request sees its 503 and undoes what it did
    for kind in (
        OSError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
    ):
        app.add_exception_handler(kind, _on_database_error)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "examples": [PROBLEM_TYPE_PREFIX + "not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route decorator documenting these statuses as problem documents."""
    return {
        status: {
            "description": phrase(status),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }
