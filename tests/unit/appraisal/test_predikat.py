"""The predicate matrix of PermenPANRB 6/2022, and a unit head's Rating Hasil Kerja."""

import pytest

from services.appraisal.domain.predikat import UnitHeadMapping, predikat_of
from shared.contracts.appraisal import OrganisationPredikat, Predikat, Rating

ATAS, SESUAI, BAWAH = (
    Rating.DI_ATAS_EKSPEKTASI,
    Rating.SESUAI_EKSPEKTASI,
    Rating.DI_BAWAH_EKSPEKTASI,
)


@pytest.mark.parametrize(
    ("hasil_kerja", "perilaku_kerja", "predikat"),
    [
        (ATAS, ATAS, Predikat.SANGAT_BAIK),
        (ATAS, SESUAI, Predikat.BAIK),
        (ATAS, BAWAH, Predikat.KURANG),
        (SESUAI, ATAS, Predikat.BAIK),
        (SESUAI, SESUAI, Predikat.BAIK),
        (SESUAI, BAWAH, Predikat.KURANG),
        (BAWAH, ATAS, Predikat.BUTUH_PERBAIKAN),
        (BAWAH, SESUAI, Predikat.BUTUH_PERBAIKAN),
        (BAWAH, BAWAH, Predikat.SANGAT_KURANG),
    ],
    ids=[
        "results above and behaviour above is sangat baik",
        "results above and behaviour as expected is baik",
        "results above and behaviour below is kurang (misconduct)",
        "results as expected and behaviour above is baik",
        "results as expected and behaviour as expected is baik",
        "results as expected and behaviour below is kurang (misconduct)",
        "results below and behaviour above is butuh perbaikan",
        "results below and behaviour as expected is butuh perbaikan",
        "results below and behaviour below is sangat kurang",
    ],
)
def test_the_predikat_follows_the_matrix_of_the_regulation(
    hasil_kerja: Rating, perilaku_kerja: Rating, predikat: Predikat
) -> None:
    assert predikat_of(hasil_kerja, perilaku_kerja) is predikat


DEFAULT_UNIT_HEAD = UnitHeadMapping(
    version="test.v1",
    ratings={
        OrganisationPredikat.ISTIMEWA: ATAS,
        OrganisationPredikat.BAIK: SESUAI,
        OrganisationPredikat.BUTUH_PERBAIKAN: BAWAH,
        OrganisationPredikat.KURANG: BAWAH,
        OrganisationPredikat.SANGAT_KURANG: BAWAH,
    },
)


@pytest.mark.parametrize(
    ("organisation", "hasil_kerja"),
    [
        (OrganisationPredikat.ISTIMEWA, ATAS),
        (OrganisationPredikat.BAIK, SESUAI),
        (OrganisationPredikat.BUTUH_PERBAIKAN, BAWAH),
        (OrganisationPredikat.KURANG, BAWAH),
        (OrganisationPredikat.SANGAT_KURANG, BAWAH),
    ],
)
def test_a_unit_heads_hasil_kerja_follows_the_organisation_predikat_of_the_unit(
    organisation: OrganisationPredikat, hasil_kerja: Rating
) -> None:
    assert DEFAULT_UNIT_HEAD.hasil_kerja_for(organisation) is hasil_kerja


def test_a_unit_head_mapping_that_leaves_an_organisation_predikat_out_is_refused() -> None:
    with pytest.raises(ValueError, match="SANGAT_KURANG"):
        UnitHeadMapping("test.v1", {o: SESUAI for o in list(OrganisationPredikat)[:-1]})


def test_a_unit_head_mapping_keeps_its_own_copy_of_the_ratings() -> None:
    ratings = dict(DEFAULT_UNIT_HEAD.ratings)
    mapping = UnitHeadMapping("test.v1", ratings)

    ratings[OrganisationPredikat.ISTIMEWA] = BAWAH

    assert mapping.hasil_kerja_for(OrganisationPredikat.ISTIMEWA) is ATAS
