"""Bearer JWTs: who is calling, checked against the configured key, and the guards on it."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated

import jwt
import structlog
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.domain.identity import SUBJECT_RULE, Identity, IdentityKind
from shared.http.problems import Forbidden, Unauthorized

# Public by design: it only signs tokens of a development stack or a test.
DEVELOPMENT_SECRET = "kinerja-development-only-secret-never-use-in-production"  # noqa: S105
ACTOR_LOG_KEY = "actor"


class JwtSettings(BaseSettings):
    """How tokens are verified, from `KINERJA_JWT_*` variables."""

    model_config = SettingsConfigDict(env_prefix="KINERJA_JWT_", extra="ignore")

    secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        description="HS256 key for development and tests; ignored once public_key is set",
    )
    public_key: str | None = Field(
        default=None, description="PEM public key (RS256 or ES256) that production tokens verify"
    )
    issuer: str = "kinerja"
    audience: str = "kinerja"
    leeway_seconds: int = Field(default=30, ge=0, description="clock skew allowed on exp and nbf")

    @field_validator("public_key")
    @classmethod
    def _unescape_newlines(cls, value: str | None) -> str | None:
        # A PEM in a one-line variable or Secret often arrives with literal "\n".
        return value.replace("\\n", "\n") if value else None

    def verification(self) -> tuple[str, list[str]]:
        """The key and the only algorithms it may verify."""
        # Never HS256 next to a public key: a token "signed" with the public PEM as an HMAC
        # secret would otherwise pass.
        if self.public_key:
            return self.public_key, ["RS256", "ES256"]
        return self.secret.get_secret_value(), ["HS256"]


@lru_cache(maxsize=1)
def jwt_settings() -> JwtSettings:
    """The process's settings; a FastAPI dependency tests may override."""
    return JwtSettings()


def verify_token(token: str, settings: JwtSettings) -> Identity:
    """The identity of a token whose signature, expiry, issuer and audience hold; else 401."""
    key, algorithms = settings.verification()
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            issuer=settings.issuer,
            audience=settings.audience,
            leeway=settings.leeway_seconds,
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise Unauthorized(_refusal(error, settings)) from None
    try:
        return Identity.from_subject(claims["sub"])
    except ValueError:
        raise Unauthorized(f"the token's subject is not {SUBJECT_RULE}") from None


def _refusal(error: jwt.PyJWTError, settings: JwtSettings) -> str:
    match error:
        case jwt.ExpiredSignatureError():
            return "the token has expired"
        case jwt.ImmatureSignatureError():
            return "the token is not valid yet"
        case jwt.InvalidIssuerError():
            return f"the token was not issued by {settings.issuer}"
        case jwt.InvalidAudienceError():
            return f"the token is not meant for {settings.audience}"
        case jwt.MissingRequiredClaimError():
            return f"the token has no {error.claim} claim"
        case jwt.InvalidAlgorithmError():
            return "the token is signed with an algorithm this service does not accept"
        case jwt.InvalidSignatureError():
            return "the token's signature does not verify"
    return "the token is not a well-formed JWT"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, if it is one."""
    scheme, token = get_authorization_scheme_param(authorization)
    return token if scheme.lower() == "bearer" and token else None


bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A JWT whose `sub` is a NIP, `admin:<name>` or `auditor:<name>`.",
    auto_error=False,
)


async def current_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    settings: Annotated[JwtSettings, Depends(jwt_settings)],
) -> Identity:
    """FastAPI dependency: the verified caller of this request, else 401."""
    if credentials is None:
        if request.headers.get("authorization") is None:
            raise Unauthorized("no Authorization header; send Authorization: Bearer <token>")
        raise Unauthorized("the Authorization header is not Bearer <token>")
    identity = verify_token(credentials.credentials, settings)
    # Async on purpose: FastAPI runs it in the request's task, so the binding reaches every
    # later log line of the request (a sync dependency would bind it in a worker thread).
    structlog.contextvars.bind_contextvars(**{ACTOR_LOG_KEY: identity.subject})
    return identity


def require_kind(identity: Identity, *kinds: IdentityKind) -> Identity:
    """The identity if it is one of `kinds`, else 403."""
    if identity.kind not in kinds:
        raise Forbidden(f"only {' or '.join(kinds)} callers may do this")
    return identity


def require_admin(identity: Identity) -> Identity:
    return require_kind(identity, "admin")


def issue_token(
    subject: str, *, ttl: timedelta = timedelta(hours=12), settings: JwtSettings | None = None
) -> str:
    """A development token for `subject`, signed HS256 with the configured secret."""
    settings = settings or jwt_settings()
    Identity.from_subject(subject)
    if settings.public_key:
        raise RuntimeError(
            "tokens here verify against a public key; a secret-signed one would fail"
        )
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, settings.secret.get_secret_value(), algorithm="HS256")
