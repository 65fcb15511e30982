"""What a predikat feeds: credit points of functional posts and the tukin factor."""

import pytest

from services.appraisal.domain.outputs import TukinRule, credit_point_percentage
from shared.contracts.appraisal import Predikat


@pytest.mark.parametrize(
    ("predikat", "percentage"),
    [
        (Predikat.SANGAT_BAIK, 150),
        (Predikat.BAIK, 100),
        (Predikat.BUTUH_PERBAIKAN, 75),
        (Predikat.KURANG, 50),
        (Predikat.SANGAT_KURANG, 25),
    ],
)
def test_credit_points_are_the_regulations_percentage_of_the_post_coefficient(
    predikat: Predikat, percentage: int
) -> None:
    assert credit_point_percentage(predikat) == percentage


def test_a_tukin_rule_gives_the_factor_of_each_predikat() -> None:
    rule = TukinRule("test.v1", {p: 1.0 for p in Predikat} | {Predikat.KURANG: 0.85})

    assert rule.factor(Predikat.KURANG) == 0.85
    assert rule.factor(Predikat.BAIK) == 1.0


def test_a_tukin_rule_without_a_factor_for_every_predikat_is_refused() -> None:
    with pytest.raises(ValueError, match="SANGAT_KURANG"):
        TukinRule("test.v1", {p: 1.0 for p in Predikat if p is not Predikat.SANGAT_KURANG})


@pytest.mark.parametrize("factor", [-0.1, 1.2])
def test_a_tukin_factor_outside_zero_to_one_is_refused(factor: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        TukinRule("test.v1", {p: factor for p in Predikat})


def test_a_tukin_rule_needs_a_version() -> None:
    with pytest.raises(ValueError, match="version"):
        TukinRule(" ", {p: 1.0 for p in Predikat})
