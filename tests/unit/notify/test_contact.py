"""The Contact aggregate: a pegawai's email address and their opt-out."""

import pytest

from services.notify.domain.contact import Contact
from shared.contracts.notify import ContactSet
from shared.domain.errors import RuleViolation

NIP = "199001012015031001"


def test_an_address_is_set_with_its_domain_in_lower_case() -> None:
    contact = Contact(NIP)

    contact.set("  Budi.Santoso@BKN.go.id ", email_opt_out=False)

    assert contact.pending == [
        ContactSet(nip=NIP, email="Budi.Santoso@bkn.go.id", email_opt_out=False)
    ]
    assert contact.email_address == "Budi.Santoso@bkn.go.id"


@pytest.mark.parametrize(
    "address",
    ["budi", "budi@", "@bkn.go.id", "budi@bkn", "budi@@bkn.go.id", "bu di@bkn.go.id",
     "budi@bkn..go.id", "budi@-bkn.go.id", "budi@bkn.go.id\nBcc: x@y.id", f"{'b' * 65}@bkn.go.id"],
)  # fmt: skip
def test_what_is_not_an_address_is_refused(address: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        Contact(NIP).set(address, email_opt_out=False)

    assert refused.value.field == "email"


def test_an_opted_out_pegawai_has_no_address_to_send_to() -> None:
    contact = Contact(NIP)
    contact.set("budi@bkn.go.id", email_opt_out=True)

    assert (contact.email, contact.email_address) == ("budi@bkn.go.id", None)


def test_setting_the_same_again_records_nothing_but_a_change_does() -> None:
    contact = Contact.replay(
        NIP, [ContactSet(nip=NIP, email="budi@bkn.go.id", email_opt_out=False)]
    )

    contact.set("budi@bkn.go.id", email_opt_out=False)
    assert contact.pending == []

    contact.set(None, email_opt_out=False)
    assert contact.pending == [ContactSet(nip=NIP, email=None, email_opt_out=False)]


def test_a_contact_belongs_to_a_real_nip() -> None:
    with pytest.raises(RuleViolation) as refused:
        Contact("12345").set("budi@bkn.go.id", email_opt_out=False)

    assert refused.value.field == "nip"
