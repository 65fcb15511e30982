import pytest
from pydantic import BaseModel, ValidationError

from shared.domain.nip import InvalidNip, Nip, check_nip

VALID = "199001012015031001"


def test_a_well_formed_nip_is_accepted() -> None:
    assert check_nip(VALID) == VALID
    assert check_nip("198512312010122003") == "198512312010122003"


@pytest.mark.parametrize(
    ("nip", "reason"),
    [
        ("19900101201503100", "18 digits"),
        ("1990010120150310011", "18 digits"),
        ("19900101201503100A", "18 digits"),
        ("".join(chr(0xFF10 + int(d)) for d in VALID), "18 digits"),  # full-width digits
        ("199002302015031001", "real birth date"),
        ("199013012015031001", "real birth date"),
        ("199001012015131001", "month of appointment"),
        ("199001012015001001", "month of appointment"),
        ("199001011985031001", "after the birth date"),
        ("199001012015033001", "digit 15"),
        ("199001012015031000", "sequence"),
    ],
)
def test_a_malformed_nip_is_refused_with_the_reason(nip: str, reason: str) -> None:
    with pytest.raises(InvalidNip, match=reason):
        check_nip(nip)


def test_models_validate_a_nip_field_and_name_it() -> None:
    class Employee(BaseModel):
        nip: Nip

    with pytest.raises(ValidationError) as raised:
        Employee(nip="199002302015031001")

    assert raised.value.errors()[0]["loc"] == ("nip",)
    assert Employee(nip=VALID).nip == VALID
