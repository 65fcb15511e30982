"""The rules files: what ships, which file wins, and malformed files refused by name."""

import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from services.appraisal.adapters.rules_files import (
    RULES_FOLDER,
    RulesError,
    load_curve_rules,
    load_tukin_rule,
    load_unit_head_mapping,
)
from services.appraisal.domain.distribution import CurveRules, Limit, LimitKind
from shared.contracts.appraisal import OrganisationPredikat, Predikat, Rating

SB, B, BP, K, SK = (
    Predikat.SANGAT_BAIK,
    Predikat.BAIK,
    Predikat.BUTUH_PERBAIKAN,
    Predikat.KURANG,
    Predikat.SANGAT_KURANG,
)
AT_LEAST, AT_MOST = LimitKind.AT_LEAST, LimitKind.AT_MOST


def share(kind: LimitKind, percent: int, *predikats: Predikat) -> Limit:
    return Limit(kind, frozenset(predikats), share=Fraction(percent, 100))


# DOMAIN.md, "Organisation predicate and distribution curve", written out by hand
DOMAIN_CURVE = CurveRules(
    version="kurva-permenpanrb-6-2022.v1",
    limits={
        OrganisationPredikat.ISTIMEWA: (share(AT_MOST, 70, SB),),
        OrganisationPredikat.BAIK: (
            share(AT_MOST, 70, B),
            Limit(AT_LEAST, frozenset({BP, K}), count=1),
        ),
        OrganisationPredikat.BUTUH_PERBAIKAN: (share(AT_LEAST, 60, BP), share(AT_MOST, 10, SB)),
        OrganisationPredikat.KURANG: (
            share(AT_LEAST, 60, K),
            share(AT_LEAST, 10, BP),
            share(AT_MOST, 10, SB),
        ),
        OrganisationPredikat.SANGAT_KURANG: (
            share(AT_LEAST, 60, SK),
            share(AT_LEAST, 10, K, BP),
            share(AT_MOST, 0, SB),
        ),
    },
)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A copy of the shipped rules folder, for a test to add or spoil files in."""
    return Path(shutil.copytree(RULES_FOLDER, tmp_path / "rules"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_curve_is_the_table_of_the_domain() -> None:
    assert load_curve_rules("kemenkeu", 2026) == DOMAIN_CURVE


def test_the_shipped_unit_head_mapping_follows_the_organisation_predikat() -> None:
    mapping = load_unit_head_mapping()

    assert mapping.version == "kepala-unit-permenpanrb-6-2022.v1"
    assert dict(mapping.ratings) == {
        OrganisationPredikat.ISTIMEWA: Rating.DI_ATAS_EKSPEKTASI,
        OrganisationPredikat.BAIK: Rating.SESUAI_EKSPEKTASI,
        OrganisationPredikat.BUTUH_PERBAIKAN: Rating.DI_BAWAH_EKSPEKTASI,
        OrganisationPredikat.KURANG: Rating.DI_BAWAH_EKSPEKTASI,
        OrganisationPredikat.SANGAT_KURANG: Rating.DI_BAWAH_EKSPEKTASI,
    }


def test_the_shipped_tukin_rule_cuts_by_predikat() -> None:
    rule = load_tukin_rule("kemenkeu")

    assert rule.version == "tukin-potongan-predikat-contoh.v1"
    assert {p: rule.factor(p) for p in Predikat} == {SB: 1.0, B: 1.0, BP: 0.9, K: 0.85, SK: 0.8}


def curve_file(version: str) -> str:
    limits = "\n".join(f"{o.value} = []" for o in OrganisationPredikat)
    return f'version = "{version}"\n[limits]\n{limits}\n'


@pytest.mark.parametrize(
    ("agency", "year", "version"),
    [("kemenkeu", 2027, "kemenkeu-2027"), ("kemenkeu", 2026, "kemenkeu"), ("bkn", 2027, None)],
    ids=["the agency's year", "the agency's default", "the national default"],
)
def test_an_agencys_year_wins_over_its_default_which_wins_over_the_national_curve(
    rules: Path, agency: str, year: int, version: str | None
) -> None:
    write(rules / "curves" / "kemenkeu" / "2027.toml", curve_file("kemenkeu-2027"))
    write(rules / "curves" / "kemenkeu" / "default.toml", curve_file("kemenkeu"))

    loaded = load_curve_rules(agency, year, rules)

    assert loaded.version == (version or DOMAIN_CURVE.version)


def test_an_agencys_tukin_rule_wins_over_the_default(rules: Path) -> None:
    factors = "\n".join(f"{p.value} = 0.5" for p in Predikat)
    write(rules / "tukin" / "kemenkeu.toml", f'version = "kemenkeu.v2"\n[factors]\n{factors}\n')

    assert load_tukin_rule("kemenkeu", rules).version == "kemenkeu.v2"
    assert load_tukin_rule("bkn", rules).version == "tukin-potongan-predikat-contoh.v1"


def spoil(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


CURVE, TUKIN, UNIT_HEAD = "curves/default.toml", "tukin/default.toml", "unit_head.toml"
ISTIMEWA_LIMITS = '[[limits.ISTIMEWA]]\nat_most = "70%"\nof = ["SANGAT_BAIK"]\n'
LOADERS: dict[str, Callable[[Path], object]] = {
    CURVE: lambda folder: load_curve_rules("bkn", 2026, folder),
    TUKIN: lambda folder: load_tukin_rule("bkn", folder),
    UNIT_HEAD: load_unit_head_mapping,
}


@pytest.mark.parametrize(
    ("file", "old", "new", "says"),
    [
        (CURVE, 'of = ["SANGAT_BAIK"]', 'of = ["SANGAT_BAGUS"]', "limits.ISTIMEWA.0.of.0"),
        (CURVE, 'at_most = "70%"', 'at_most = "120%"', "at most 100%, not '120%'"),
        (CURVE, 'at_most = "70%"', 'at_most = "70"', "a percent like '70%'"),
        (CURVE, 'at_most = "70%"', "at_most = -1", "not negative"),
        (CURVE, 'at_most = "70%"', 'at_most = "70%"\nat_least = 1', "exactly one of"),
        (CURVE, "[[limits.ISTIMEWA]]", "[[limits.ISTIMEWAH]]", "ISTIMEWAH"),
        (CURVE, ISTIMEWA_LIMITS, "", "no limits for ISTIMEWA (write `ISTIMEWA = []`"),
        (CURVE, 'version = "kurva-permenpanrb-6-2022.v1"', "", "version: Field required"),
        (CURVE, 'version = "kurva-permenpanrb-6-2022.v1"', 'version = " "', "needs a version"),
        (CURVE, "of = [", "off = [", "off: Extra inputs are not permitted"),
        (CURVE, "[[limits", "[[[limits", "not valid TOML"),
        (TUKIN, "SANGAT_KURANG = 0.8", "", "no tukin factor for predikat SANGAT_KURANG"),
        (TUKIN, "KURANG = 0.85", "KURANG = 1.5", "between 0 and 1, not KURANG=1.5"),
        (TUKIN, "KURANG = 0.85", "KURANG = 0.85\nBAGUS = 1.0", "factors.BAGUS"),
        (UNIT_HEAD, 'KURANG = "DI_BAWAH_EKSPEKTASI"', "", "no rating for organisation predikat"),
        (UNIT_HEAD, 'BAIK = "SESUAI_EKSPEKTASI"', 'BAIK = "SESUAI"', "ratings.BAIK"),
        (UNIT_HEAD, 'version = "kepala-unit-permenpanrb-6-2022.v1"', "", "version"),
    ],
    ids=[
        "an unknown predikat name",
        "a share over 100%",
        "a share without a percent sign",
        "a negative count",
        "both at_least and at_most",
        "an unknown organisation predikat",
        "a missing organisation predikat",
        "a curve without a version",
        "a curve with a blank version",
        "an unknown key",
        "not TOML at all",
        "a predikat missing from the tukin factors",
        "a tukin factor over 1",
        "an unknown predikat among the tukin factors",
        "an organisation predikat missing from the unit-head mapping",
        "an unknown rating in the unit-head mapping",
        "a unit-head mapping without a version",
    ],
)
def test_a_malformed_rules_file_is_refused_naming_the_file_and_the_problem(
    rules: Path, file: str, old: str, new: str, says: str
) -> None:
    spoil(rules / file, old, new)

    with pytest.raises(RulesError) as refused:
        LOADERS[file](rules)

    assert refused.value.path == rules / file
    assert str(refused.value).startswith(f"{rules / file}: ")
    assert says in str(refused.value)


def test_a_rules_error_is_a_value_error() -> None:
    assert issubclass(RulesError, ValueError)


def test_a_missing_national_default_is_refused_naming_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"no rules file; looked for .*kemenkeu.2026\.toml"):
        load_curve_rules("kemenkeu", 2026, tmp_path)


@pytest.mark.parametrize("agency", ["../secrets", "", "a/b", "kemen keu"])
def test_an_agency_code_that_is_no_plain_name_is_refused(agency: str) -> None:
    with pytest.raises(RulesError, match="not an agency code"):
        load_curve_rules(agency, 2026)
    with pytest.raises(RulesError, match="not an agency code"):
        load_tukin_rule(agency)
