"""The `kinerja` command line without infrastructure: its help, the development token, and
the one-line refusals of bad arguments."""

import pytest
from typer.testing import CliRunner

from shared.cli.main import app
from shared.domain.identity import Identity
from shared.http.auth import JwtSettings, verify_token

NIP = "199001012015031001"
COMMANDS = [
    ["token"], ["import-roster"], ["replay"], ["verify"], ["history"], ["export"],
    ["dlq"], ["dlq", "list"], ["dlq", "redrive"], ["status"],
]  # fmt: skip
runner = CliRunner()


def test_kinerja_help_names_every_command() -> None:
    answer = runner.invoke(app, ["--help"])

    assert answer.exit_code == 0, answer.output
    for command in ("token", "import-roster", "replay", "verify", "history", "export", "dlq",
                    "status"):  # fmt: skip
        assert command in answer.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    answer = runner.invoke(app, [*command, "--help"])

    assert answer.exit_code == 0, answer.output
    assert answer.stdout.startswith("Usage: ")
    assert len(answer.stdout.splitlines()) > 4


def test_a_token_for_a_nip_is_accepted_by_the_services_verification() -> None:
    answer = runner.invoke(app, ["token", NIP], env={"KINERJA_JWT_SECRET": None})

    assert answer.exit_code == 0, answer.output
    token = answer.stdout.splitlines()[-1]
    assert verify_token(token, JwtSettings()) == Identity(NIP, "pegawai", nip=NIP)


def test_a_role_makes_the_name_an_admin_or_auditor_subject() -> None:
    admin = runner.invoke(app, ["token", "rina", "--role", "admin"])
    auditor = runner.invoke(app, ["token", "auditor:bpk"])

    assert verify_token(admin.stdout.splitlines()[-1], JwtSettings()).subject == "admin:rina"
    assert verify_token(auditor.stdout.splitlines()[-1], JwtSettings()).kind == "auditor"


def test_the_token_is_signed_with_the_configured_secret() -> None:
    secret = "another-secret-of-at-least-thirty-two-bytes"
    answer = runner.invoke(app, ["token", NIP], env={"KINERJA_JWT_SECRET": secret})

    verified = verify_token(answer.stdout.splitlines()[-1], JwtSettings(secret=secret))
    assert verified.nip == NIP


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["token", "bob"], "token: the subject is an 18-digit NIP"),
        (["history", "--nip", "1990"], "history: --nip 1990: a NIP is 18 digits"),
        (["history", "--nip", "199013012015031001"], "a real birth date"),
        (["history", "--nip", NIP, "--as-of", "yesterday"], "is not an ISO 8601 date or time"),
        (["dlq", "redrive", "no.such", "--bootstrap-servers", "127.0.0.1:1"],
         "no projection named 'no.such'; there are: targets.board"),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line_and_exit_2(arguments: list[str], said: str) -> None:
    answer = runner.invoke(app, arguments)

    assert answer.exit_code == 2, answer.output
    assert said in answer.stderr
    assert len(answer.stderr.strip().splitlines()) == 1
    assert "Traceback" not in answer.output


def test_bad_settings_are_one_line_and_exit_2() -> None:
    answer = runner.invoke(app, ["dlq", "list"], env={"KINERJA_DATABASE_URL": "nonsense"})

    assert answer.exit_code == 2, answer.output
    assert answer.stderr.startswith("kinerja: bad settings: database_url:")
