"""`kinerja token`: a development JWT, signed with the configured secret, that the local
services accept."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import typer
from pydantic import ValidationError

from shared.cli.common import fail
from shared.domain.identity import SUBJECT_RULE
from shared.http.auth import JwtSettings, issue_token


class Role(StrEnum):
    admin = "admin"
    auditor = "auditor"


def token(
    subject: Annotated[
        str,
        typer.Argument(
            metavar="SUB",
            help="a NIP, admin:<name> or auditor:<name>; with --role, just the name",
            show_default=False,
        ),
    ],
    role: Annotated[
        Role | None, typer.Option(help="make the subject <role>:<SUB>", show_default=False)
    ] = None,
    hours: Annotated[float, typer.Option(min=0.01, help="how long the token is valid")] = 12,
) -> None:
    """Print a development token for SUB; the JWT is the last line of the output."""
    subject = f"{role.value}:{subject}" if role else subject
    try:
        # read now, not the services' cached settings: the caller's environment decides
        jwt = JwtSettings()
    except ValidationError as error:
        fail(f"token: bad KINERJA_JWT_* settings: {error.errors()[0]['msg']}")
    try:
        signed = issue_token(subject, ttl=timedelta(hours=hours), settings=jwt)
    except ValueError:
        fail(f"token: the subject is {SUBJECT_RULE}, not {subject!r}")
    except RuntimeError as error:
        fail(f"token: {error}")
    until = (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M UTC")
    typer.echo(f"token for {subject}, valid until {until}", err=True)
    typer.echo(signed)
