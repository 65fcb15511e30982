from typing import Annotated

import pytest
import structlog
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, StringConstraints

from shared.http.problems import (
    PROBLEM_JSON,
    Conflict,
    NotFound,
    install_problem_handlers,
    problem_responses,
)

Nip = Annotated[str, StringConstraints(pattern=r"^[0-9]{18}$")]


class NewEmployee(BaseModel):
    nip: Nip
    name: str


def tiny_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/employees", status_code=201, responses=problem_responses(409, 422))
    async def add_employee(employee: NewEmployee) -> dict[str, str]:
        if employee.nip == "199001012015031001":
            raise Conflict(f"employee {employee.nip} is already on the roster")
        return {"nip": employee.nip}

    @app.get("/employees/{nip}")
    async def employee(nip: str) -> None:
        raise NotFound(f"no employee has NIP {nip}")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 in the connection string")

    return app


@pytest.fixture
def client() -> TestClient:
    # Unhandled errors must come back as responses here, as a real server would send them.
    return TestClient(tiny_app(), raise_server_exceptions=False)


def test_a_raised_problem_is_answered_as_problem_json(client: TestClient) -> None:
    response = client.get("/employees/42")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "urn:kinerja:problem:not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "no employee has NIP 42",
    }


def test_a_conflict_is_a_409_problem(client: TestClient) -> None:
    response = client.post("/employees", json={"nip": "199001012015031001", "name": "Budi"})

    assert response.status_code == 409
    assert response.json()["type"] == "urn:kinerja:problem:conflict"
    assert "already on the roster" in response.json()["detail"]


def test_invalid_input_is_a_422_listing_each_bad_field(client: TestClient) -> None:
    response = client.post("/employees", json={"nip": "12345"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "urn:kinerja:problem:validation-error"
    assert [error["field"] for error in problem["errors"]] == ["body.nip", "body.name"]
    assert all(error["message"] for error in problem["errors"])


def test_a_body_that_is_not_json_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/employees", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body")


def test_an_unknown_route_is_a_problem_404(client: TestClient) -> None:
    response = client.get("/no/such/thing")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["detail"] == "nothing is at /no/such/thing"


def test_a_method_the_route_lacks_is_a_problem_405_naming_the_allowed_ones(
    client: TestClient,
) -> None:
    response = client.delete("/employees")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["type"] == "urn:kinerja:problem:method-not-allowed"


def test_an_unhandled_exception_is_a_500_problem_that_keeps_its_text_to_the_log(
    client: TestClient,
) -> None:
    with structlog.testing.capture_logs() as logs:
        response = client.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "urn:kinerja:problem:internal-error"
    assert "hunter2" not in response.text
    logged = [entry for entry in logs if entry["event"] == "http.unexpected_error"]
    assert len(logged) == 1
    assert "hunter2" in str(logged[0]["exc_info"])


def test_problem_responses_document_the_problem_schema_in_openapi(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/employees"]["post"]["responses"]

    # FastAPI's own 422 (a different shape, as application/json) is replaced, not added to.
    assert list(responses["422"]["content"]) == [PROBLEM_JSON]
    schema = responses["409"]["content"][PROBLEM_JSON]["schema"]
    assert {"type", "title", "status", "detail"} <= set(schema["required"])
    assert "errors" in schema["properties"]
