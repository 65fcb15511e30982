"""Every message kind reads in both languages with the parameters the inbox gives it."""

import pytest

from services.notify.domain.templates import LANGUAGES, MESSAGES, render

PARAMS = {
    "nip": "199001012015031001", "year": 2026, "period": "Q1", "by": "197001011995031001",
    "reason": "Target terlalu rendah", "text": "Bagus", "predikat": "BUTUH_PERBAIKAN",
    "appeal_until": "2026-04-20", "outcome": "CHANGED", "due": "2026-03-31",
    "nips": "199001012015031001", "url": "https://payroll.example.go.id/hook",
    "since": "2026-04-01T00:00:00+00:00", "error": "503", "unit_code": "BIRO",
    "organisation_predikat": "BAIK", "rated": 4, "breaches": "at_most 70% BAIK (75% (3 of 4))",
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(MESSAGES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_renders_in_both_languages(kind: str, language: str) -> None:
    title, body = render(kind, PARAMS, language)

    assert title.strip()
    assert body.strip()
    assert "{" not in title + body


def test_bahasa_indonesia_is_the_default_and_predicates_read_as_words() -> None:
    title, body = render("RATING_GIVEN", PARAMS, "fr")

    assert title == "Hasil penilaian Q1 2026"
    assert "Butuh Perbaikan" in body
    assert "2026-04-20" in body


def test_a_missing_parameter_is_an_error_not_a_silent_blank() -> None:
    with pytest.raises(KeyError):
        render("SKP_RETURNED", {"year": 2026})
