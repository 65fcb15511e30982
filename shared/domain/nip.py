"""The NIP (Nomor Induk Pegawai): eighteen digits that identify an ASN for life.

birth date (YYYYMMDD) · month of appointment as CPNS/PPPK (YYYYMM) · sex (1 or 2) · sequence
(001-999). A NIP whose dates are not real dates is a typing error, and is refused.
"""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator


class InvalidNip(ValueError):
    pass


def check_nip(value: str) -> str:
    """`value` if it is a well-formed NIP; InvalidNip saying what is wrong otherwise."""
    if len(value) != 18 or not value.isascii() or not value.isdigit():
        raise InvalidNip("a NIP is 18 digits")
    try:
        born = date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise InvalidNip(
            f"a NIP begins with a real birth date (YYYYMMDD), not {value[0:8]}"
        ) from None
    appointed_year, appointed_month = int(value[8:12]), int(value[12:14])
    if not 1 <= appointed_month <= 12 or appointed_year < 1900:
        raise InvalidNip(f"digits 9-14 are a real month of appointment (YYYYMM), not {value[8:14]}")
    if (appointed_year, appointed_month) < (born.year, born.month) or born.year < 1900:
        raise InvalidNip("the month of appointment comes after the birth date")
    if value[14] not in "12":
        raise InvalidNip("digit 15 is 1 (male) or 2 (female)")
    if value[15:] == "000":
        raise InvalidNip("the sequence (digits 16-18) starts at 001")
    return value


def birth_date(nip: str) -> date:
    return date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))


Nip = Annotated[str, AfterValidator(check_nip)]
