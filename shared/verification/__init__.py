"""The tamper-evidence check: every stream's sha256 chain, in the store and on its topic."""

from shared.verification.chain import Link, StreamChain, head_breaks
from shared.verification.report import Audit, Break, Kind, VerificationUnavailable
from shared.verification.store import audit_store, verify_store
from shared.verification.topic import audit_topic, verify_topic

__all__ = [
    "Audit",
    "Break",
    "Kind",
    "Link",
    "StreamChain",
    "VerificationUnavailable",
    "audit_store",
    "audit_topic",
    "head_breaks",
    "verify_store",
    "verify_topic",
]
