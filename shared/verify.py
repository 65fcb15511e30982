"""The tamper-evidence check, and its command line.

Each stream is a sha256 chain: an event's hash covers its content and its predecessor's hash,
and `streams` records the head. `verify_store` and `verify_topic` walk a service's store and
its topic and return every place the record is not what was written; the logic lives in
`shared.verification`.

    python -m shared.verify --service targets [--service journal ...]
        [--database-url URL] [--bootstrap-servers HOST:PORT]
        [--store/--no-store] [--topics/--no-topics]
"""

from shared.verification import (
    Audit,
    Break,
    Kind,
    VerificationUnavailable,
    audit_store,
    audit_topic,
    verify_store,
    verify_topic,
)
from shared.verification.cli import app

__all__ = [
    "Audit",
    "Break",
    "Kind",
    "VerificationUnavailable",
    "app",
    "audit_store",
    "audit_topic",
    "verify_store",
    "verify_topic",
]

if __name__ == "__main__":
    app()
