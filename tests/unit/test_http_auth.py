from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shared.domain.identity import Identity
from shared.http.auth import (
    JwtSettings,
    current_identity,
    issue_token,
    jwt_settings,
    require_admin,
    require_kind,
)
from shared.http.problems import PROBLEM_JSON, install_problem_handlers

SETTINGS = JwtSettings(secret=SecretStr("a-test-secret-of-at-least-32-bytes!"), leeway_seconds=0)
NIP = "199001012015031001"


def tiny_app(settings: JwtSettings = SETTINGS) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.dependency_overrides[jwt_settings] = lambda: settings
    Caller = Annotated[Identity, Depends(current_identity)]

    @app.get("/me")
    async def me(identity: Caller) -> dict[str, Any]:
        bound = structlog.contextvars.get_contextvars()
        return {**asdict(identity), "logged_as": bound.get("actor")}

    @app.get("/roster")
    async def roster(identity: Caller) -> dict[str, str]:
        require_admin(identity)
        return {"ok": "yes"}

    @app.get("/reports")
    async def reports(identity: Caller) -> dict[str, str]:
        require_kind(identity, "admin", "auditor")
        return {"ok": "yes"}

    return app


def claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {"sub": NIP, "iss": "kinerja", "aud": "kinerja", "iat": now, "exp": now + timedelta(1)}
    return {key: value for key, value in {**base, **changes}.items() if value is not None}


def signed(secret: str = SETTINGS.secret.get_secret_value(), **changes: Any) -> str:
    return jwt.encode(claims(**changes), secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client() -> TestClient:
    return TestClient(tiny_app())


REFUSED = {
    "no header": ({}, "no Authorization header"),
    "another scheme": ({"Authorization": "Basic dXNlcjpwYXNz"}, "not Bearer"),
    "garbled token": (bearer("not.a.jwt"), "not a well-formed JWT"),
    "expired": (bearer(signed(exp=datetime.now(UTC) - timedelta(minutes=1))), "expired"),
    "no expiry": (bearer(signed(exp=None)), "no exp claim"),
    "wrong issuer": (bearer(signed(iss="someone-else")), "not issued by kinerja"),
    "wrong audience": (bearer(signed(aud="another-app")), "not meant for kinerja"),
    "other key": (bearer(signed(secret="another-secret-of-at-least-32-bytes")), "signature"),
    "short nip": (bearer(signed(sub="12345")), "subject"),
    "nip with a letter": (bearer(signed(sub="19900101201503100A")), "subject"),
    "unknown role": (bearer(signed(sub="root:budi")), "subject"),
    "role without name": (bearer(signed(sub="admin:")), "subject"),
    "name with a space": (bearer(signed(sub="auditor:budi santoso")), "subject"),
}


@pytest.mark.parametrize(("headers", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_request_without_a_valid_token_is_a_401_problem(
    client: TestClient, headers: dict[str, str], reason: str
) -> None:
    response = client.get("/me", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "urn:kinerja:problem:unauthorized"
    assert reason in response.json()["detail"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (NIP, Identity(NIP, "pegawai", nip=NIP)),
        ("admin:budi", Identity("admin:budi", "admin", name="budi")),
        ("auditor:siti.r", Identity("auditor:siti.r", "auditor", name="siti.r")),
    ],
)
def test_a_valid_token_names_the_caller_and_binds_it_to_the_log_context(
    client: TestClient, subject: str, expected: Identity
) -> None:
    response = client.get("/me", headers=bearer(issue_token(subject, settings=SETTINGS)))

    assert response.status_code == 200
    assert response.json() == {**asdict(expected), "logged_as": subject}


def test_only_an_admin_passes_require_admin(client: TestClient) -> None:
    as_admin = client.get("/roster", headers=bearer(issue_token("admin:budi", settings=SETTINGS)))
    as_pegawai = client.get("/roster", headers=bearer(issue_token(NIP, settings=SETTINGS)))

    assert as_admin.status_code == 200
    assert as_pegawai.status_code == 403
    assert as_pegawai.headers["content-type"] == PROBLEM_JSON
    assert as_pegawai.json()["type"] == "urn:kinerja:problem:forbidden"


def test_require_kind_admits_each_kind_named(client: TestClient) -> None:
    def status_as(subject: str) -> int:
        token = issue_token(subject, settings=SETTINGS)
        status: int = client.get("/reports", headers=bearer(token)).status_code
        return status

    assert [status_as(s) for s in ("admin:a", "auditor:b", NIP)] == [200, 200, 403]


def test_issue_token_refuses_a_subject_of_no_valid_form() -> None:
    with pytest.raises(ValueError, match="18-digit NIP"):
        issue_token("budi", settings=SETTINGS)


def test_with_a_public_key_tokens_verify_against_it_and_the_secret_no_longer_works() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = JwtSettings(public_key=pem.decode(), leeway_seconds=0)
    client = TestClient(tiny_app(settings))
    production_token = jwt.encode(claims(sub="admin:budi"), private_key, algorithm="ES256")

    assert client.get("/me", headers=bearer(production_token)).json()["name"] == "budi"
    assert client.get("/me", headers=bearer(signed())).status_code == 401
    with pytest.raises(RuntimeError, match="public key"):
        issue_token(NIP, settings=settings)


def test_settings_come_from_kinerja_jwt_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINERJA_JWT_ISSUER", "bkn")
    monkeypatch.setenv("KINERJA_JWT_AUDIENCE", "ekinerja")
    monkeypatch.setenv("KINERJA_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END")

    settings = JwtSettings()

    assert (settings.issuer, settings.audience) == ("bkn", "ekinerja")
    # A PEM squeezed onto one line with literal \n is restored to its lines.
    assert settings.public_key == "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END"
