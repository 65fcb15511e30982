"""Input the store can hold: every text of every request body and every path or query string
is refused with 422 when PostgreSQL could not store it (a NUL, an unpaired surrogate), and
numbers are numbers (no `true`, no "3") within what the domain means."""

import contextlib
import importlib
import json
import math
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from services.journal.entrypoints.schemas import EntryBatch, NewActionPlan, NewEntry
from services.targets.entrypoints.schemas import Expectations, NewYear
from shared.config import KinerjaSettings
from shared.domain.quantity import MAX_QUANTITY
from shared.http.auth import DEVELOPMENT_SECRET, JwtSettings, jwt_settings
from shared.http.bodies import RequestBody, unstorable
from shared.migrate import service_app, service_names

NIP = "199001012015031001"
SHA = "a" * 64


def entry(**changes: Any) -> dict[str, Any]:
    base = {
        "skp_id": f"{NIP}-2026", "rhk_id": "r", "indicator_id": "i", "date": "2026-02-03",
        "description": "Menyusun laporan", "realised_value": 3,
        "evidence": [{"uri": "s3://bukti/1.pdf", "sha256": SHA}],
    }  # fmt: skip
    return {**base, **changes}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ab\x00c", "NUL character (U+0000)"),
        ("\ud800", "unpaired surrogate (U+D800)"),
        ("x\udfff", "unpaired surrogate (U+DFFF)"),
    ],
)
def test_text_postgresql_cannot_store_is_named(text: str, problem: str) -> None:
    assert problem in (unstorable(text) or "")


@pytest.mark.parametrize("text", ["", "Laporan bulanan", "naïve ✓ 😀", "\x01\x1f\ufffe\U0010ffff"])
def test_any_other_text_is_storable(text: str) -> None:
    assert unstorable(text) is None


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (entry(description="Rapat\x00"), ("description",)),
        (entry(realised_text="\ud83d"), ("realised_text",)),
        (entry(evidence=[{"uri": "s3://b\x00", "sha256": SHA}]), ("evidence", 0, "uri")),
        (entry(skp_id="\x00"), ("skp_id",)),
    ],
)
def test_a_body_with_unstorable_text_anywhere_is_refused_at_its_field(
    body: dict[str, Any], where: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as refused:
        NewEntry.model_validate(body)
    [error] = refused.value.errors()
    assert (error["loc"], error["type"]) == (where, "unstorable_text")


def test_a_nested_item_is_named_by_its_index_and_a_plain_model_inside_by_its_path() -> None:
    batch = {
        "entries": [entry(), entry(evidence=[{"uri": "ok", "sha256": SHA, "media_type": "\x00"}])]
    }
    with pytest.raises(ValidationError) as refused:
        EntryBatch.model_validate(batch)
    [error] = refused.value.errors()
    assert error["loc"] == ("entries", 1, "evidence", 0, "media_type")
    assert error["msg"] == "text cannot contain a NUL character (U+0000)"


def test_the_keys_of_a_mapping_are_checked_too_and_named_by_the_mapping() -> None:
    with pytest.raises(ValidationError) as refused:
        Expectations.model_validate({"expectations": {"Berorientasi {pelayanan}\x00": "x"}})
    [error] = refused.value.errors()
    assert error["loc"] == ("expectations",)
    assert error["msg"] == "a key's text cannot contain a NUL character (U+0000)"


def test_every_unstorable_text_of_a_body_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        NewEntry.model_validate(entry(description="\x00", realised_text="\udfff"))
    assert [e["loc"] for e in refused.value.errors()] == [("description",), ("realised_text",)]


def test_text_that_only_reads_like_an_escaped_nul_is_storable() -> None:
    assert NewEntry.model_validate(entry(description="see \\u0000")).description == "see \\u0000"


@pytest.mark.parametrize("value", [True, False, "3", "3.5", None])
def test_a_year_is_a_json_number_only(value: object) -> None:
    with pytest.raises(ValidationError):
        NewYear.model_validate({"year": value, "frequency": "QUARTERLY"})


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "float_type"),
        (False, "float_type"),
        ("3", "float_type"),
        (1e308, "less_than_equal"),
        (MAX_QUANTITY * 1.000001, "less_than_equal"),
        (-1, "greater_than_equal"),
        (float("inf"), "finite_number"),
        (float("nan"), "finite_number"),
    ],
)
def test_a_quantity_is_a_finite_number_within_the_domain_bound(value: object, kind: str) -> None:
    for model, field in ((NewEntry, "realised_value"), (NewActionPlan, "planned_value")):
        body = entry(realised_value=value) if model is NewEntry else {
            "skp_id": "s", "indicator_id": "i", "period": "Q1", "planned_value": value,
        }  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            model.model_validate(body)
        assert [(e["loc"], e["type"]) for e in refused.value.errors()] == [((field,), kind)]


@pytest.mark.parametrize("value", [3, 0, 2.5, MAX_QUANTITY, int(MAX_QUANTITY)])
def test_a_whole_number_or_a_float_up_to_the_bound_is_a_quantity(value: float) -> None:
    assert NewEntry.model_validate(entry(realised_value=value)).realised_value == value
    assert NewEntry.model_validate_json(f'{{"realised_value": {value}, "skp_id": "s", '
                                        '"rhk_id": "r", "indicator_id": "i", '
                                        '"date": "2026-01-02", "description": "d"}'
                                        ).realised_value == value  # fmt: skip


def test_the_bound_keeps_whole_rupiah_exact_and_any_real_sum_finite() -> None:
    assert MAX_QUANTITY < 2**53  # every whole number below it is exact in a double
    assert math.isfinite(MAX_QUANTITY * 10**12)  # a trillion entries at the bound, summed


# Every service's routes, as the services serve them


def _apps() -> dict[str, FastAPI]:
    settings = KinerjaSettings()
    return {service: service_app(service, settings) for service in service_names()}


APPS = _apps()


def _body_models() -> Iterator[tuple[str, type[BaseModel]]]:
    for service in APPS:
        routes = importlib.import_module(f"services.{service}.entrypoints.routes")
        for route in routes.router.routes:
            if isinstance(route, APIRoute) and route.body_field is not None:
                model = route.body_field.field_info.annotation
                assert isinstance(model, type)
                yield f"{service} {route.path}", model


def _models_within(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield model
    for field in model.model_fields.values():
        for inner in _types_within(field.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from _models_within(inner)


def _types_within(annotation: Any) -> Iterator[Any]:
    yield annotation
    for argument in typing.get_args(annotation):
        yield from _types_within(argument)


def test_every_request_body_of_every_service_is_a_request_body() -> None:
    bodies = dict(_body_models())
    assert len(bodies) > 20  # the walk found the services' routes
    assert [where for where, model in bodies.items() if not issubclass(model, RequestBody)] == []


def _numeric(field: FieldInfo) -> bool:
    found = set(_types_within(field.annotation))
    return bool(found & {int, float}) and bool not in found


def test_every_number_in_a_request_body_is_strict_and_bounded() -> None:
    loose = []
    for where, body in _body_models():
        for model in _models_within(body):
            for name, field in model.model_fields.items():
                if not _numeric(field):
                    continue
                typed: Any = (
                    Annotated[(field.annotation, *field.metadata)]
                    if field.metadata
                    else field.annotation
                )
                adapter: TypeAdapter[Any] = TypeAdapter(typed)
                for wrong in (True, "3", 1e300):
                    with contextlib.suppress(ValidationError):
                        adapter.validate_python(wrong)
                        loose.append(f"{where}: {model.__name__}.{name} takes {wrong!r}")
    assert loose == []


class _Unreached:
    """Handlers (and notify's handlers' parts) a refused request never calls."""

    def __getattr__(self, name: str) -> "_Unreached":
        return self


def _client(app: FastAPI) -> TestClient:
    # no lifespan: a request that passes validation would reach these handlers and fail; one
    # refused at the edge never gets that far
    app.dependency_overrides[jwt_settings] = lambda: JwtSettings()
    app.state.handlers = _Unreached()
    return TestClient(app, raise_server_exceptions=False)


def _token(subject: str = NIP) -> dict[str, str]:
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "iss": "kinerja",
        "aud": "kinerja",
        "iat": now,
        "exp": now + timedelta(1),
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, DEVELOPMENT_SECRET, algorithm='HS256')}"}


REFUSED = [
    ("targets", "POST", "/units", {"code": "BIRO", "name": "Biro\x00SDM"}, "body.name"),
    ("targets", "PUT", "/skps/s/behaviour-expectations", {"expectations": {"a\x00": "b"}},
     "body.expectations"),
    ("targets", "POST", "/skps/s/rhk", {"text": "RHK", "kind": "UTAMA", "indicators": [
        {"aspect": "KUANTITAS", "text": "Laporan", "target_value": True}]},
     "body.indicators.0.target_value"),
    ("targets", "POST", "/years", {"year": True, "frequency": "QUARTERLY"}, "body.year"),
    ("journal", "POST", "/entries", entry(description="\x00"), "body.description"),
    ("journal", "POST", "/entries", entry(realised_value=1e308), "body.realised_value"),
    ("journal", "POST", "/entries", entry(realised_value=True), "body.realised_value"),
    ("journal", "POST", "/entries/batch", {"entries": [entry(), entry(realised_text="\ud800")]},
     "body.entries.1.realised_text"),
    ("journal", "POST", "/entries/e/feedback", {"text": "baik\x00"}, "body.text"),
    ("journal", "POST", "/action-plans", {"skp_id": "s", "indicator_id": "i", "period": "Q1",
     "planned_value": "3"}, "body.planned_value"),
    ("appraisal", "POST", f"/evaluations/{NIP}/2026/Q1/appeal", {"reason": "\x00"}, "body.reason"),
    ("appraisal", "POST", f"/evaluations/{NIP}/2026/Q1/rating",
     {"perilaku_kerja": "SESUAI_EKSPEKTASI", "note": "\udc00"}, "body.note"),
    ("notify", "POST", "/webhooks", {"url": "https://x/\x00", "event_types": ["*"], "secret": "s"},
     "body.url"),
    ("notify", "POST", "/webhooks", {"url": "https://x/", "event_types": ["\x00"], "secret": "s"},
     "body.event_types.0"),
    ("notify", "PUT", f"/contacts/{NIP}", {"email": "a@b\x00.id"}, "body.email"),
    ("targets", "GET", "/employees/19900101%002015031001", None, "path.nip"),
    ("journal", "GET", "/entries?nip=1990%00&year=2026", None, "query.nip"),
    ("notify", "GET", "/inbox/19900101%00", None, "path.nip"),
]  # fmt: skip


@pytest.mark.parametrize(("service", "method", "path", "body", "field"), REFUSED)
def test_every_service_refuses_what_the_store_cannot_hold_with_422_naming_the_field(
    service: str, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    # as JSON escapes (`\u0000`, `\ud800`), the way a client sends them
    content = None if body is None else json.dumps(body)
    headers = {**_token(), "Content-Type": "application/json"}
    response = _client(APPS[service]).request(method, path, content=content, headers=headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
