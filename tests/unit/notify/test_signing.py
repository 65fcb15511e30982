"""Webhook signatures: HMAC-SHA256 of the raw body, as a receiver checks them."""

import hashlib
import hmac

from services.notify.delivery.signing import sign, verify_signature

BODY = b'{"specversion":"1.0","id":"0190e0c4-0000-7000-8000-000000000001"}'
SECRET = "a-long-enough-secret"


def test_the_signature_is_the_rfc_4231_hmac_sha256_of_the_body() -> None:
    # RFC 4231, test case 2
    assert sign("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_a_receiver_accepts_the_signature_of_exactly_the_body_it_got() -> None:
    header = sign(SECRET, BODY)

    assert verify_signature(SECRET, BODY, header)
    assert header == "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


def test_a_changed_body_another_secret_or_a_malformed_header_is_refused() -> None:
    header = sign(SECRET, BODY)

    assert not verify_signature(SECRET, BODY + b" ", header)
    assert not verify_signature("another-long-secret", BODY, header)
    assert not verify_signature(SECRET, BODY, header.removeprefix("sha256="))
    assert not verify_signature(SECRET, BODY, "sha1=" + header[7:])
    assert not verify_signature(SECRET, BODY, None)
    assert not verify_signature(SECRET, BODY, "sha256=zz")
