"""How a webhook delivery is signed, and how its receiver checks it.

`X-Kinerja-Signature: sha256=<hex>` is HMAC-SHA256 over the raw body bytes, keyed with the
webhook's secret (its UTF-8 bytes). Nothing else is signed, no timestamp: delivery is at least
once, so a receiver must already treat a second copy of an event (the same CloudEvent `id` in
the signed body) as a duplicate; a replayed request is exactly such a copy.
"""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Kinerja-Signature"
DELIVERY_HEADER = "X-Kinerja-Delivery"
SCHEME = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` (the X-Kinerja-Signature value) signs exactly `body` with `secret`.

    Plain, not async: a receiver calls it from any framework. Compares in constant time.
    """
    if not header or not header.startswith(SCHEME):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())
