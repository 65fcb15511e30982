"""Canonical JSON (RFC 8785, JCS) and the sha256 hash chain over it.

Auditors outside this codebase must be able to recompute every hash, so the bytes follow a
published standard. `rfc8785` is the reference; it is pure Python (about 35 µs an event
here, 60 with a float), so values where JCS and orjson's sorted compact output are the same
bytes take orjson instead (under 1 µs). That holds for strings, booleans, null, integers
within ±2^53, and floats once whole ones are written as integers (JCS writes 1.0 as `1`)
and the rest lie where both write the shortest round-trip digits without an exponent
(1e-4 <= |x| < 1e16). Anything else takes the reference encoder. Property tests hold the two
paths byte-equal.
"""

import hashlib
from typing import Any

import orjson
import rfc8785

GENESIS_HASH = "0" * 64
_SAFE_INTEGER = 2**53 - 1


def _encode_plainly(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class _Slow:
    """Marks a value only the reference encoder writes right."""


_SLOW = _Slow()


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of a JSON value (dicts, lists, str, int, float, bool, None)."""
    fast = _fast_form(value)
    return rfc8785.dumps(value) if fast is _SLOW else _encode_plainly(fast)


def _fast_form(value: Any) -> Any:
    """`value` as orjson writes it in RFC 8785 bytes (whole floats as integers; the same
    object when nothing needs changing), or _SLOW.

    Exact type checks and plain loops: this walks every payload on the append path.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if -_SAFE_INTEGER <= value <= _SAFE_INTEGER else _SLOW
    if kind is float:
        if value.is_integer():
            return int(value) if -_SAFE_INTEGER <= value <= _SAFE_INTEGER else _SLOW
        return value if 1e-4 <= abs(value) < 1e16 else _SLOW
    if kind is dict:
        return _fast_dict(value)
    if kind is list or kind is tuple:
        return _fast_list(value)
    return _SLOW  # anything JSON does not know: the reference encoder says what is wrong


def _fast_dict(value: dict[str, Any]) -> Any:
    changed: dict[str, Any] | None = None
    for key, item in value.items():
        if not _sorts_alike(key):
            return _SLOW
        fast = _fast_form(item)
        if fast is _SLOW:
            return _SLOW
        if fast is not item:
            changed = changed if changed is not None else dict(value)
            changed[key] = fast
    return value if changed is None else changed


def _fast_list(value: list[Any] | tuple[Any, ...]) -> Any:
    changed: list[Any] | None = None
    for index, item in enumerate(value):
        fast = _fast_form(item)
        if fast is _SLOW:
            return _SLOW
        if fast is not item:
            changed = changed if changed is not None else list(value)
            changed[index] = fast
    return value if changed is None else changed


def chain_hash(content: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical form of an event's content, which names its predecessor."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


def event_hash(content: dict[str, Any]) -> str:
    """`chain_hash(content)` of an event's content, checking only its "payload" for the fast
    path: the rest is metadata, with ASCII keys and strings, small integers or None as
    values."""
    payload = content["payload"]
    fast = _fast_form(payload)
    if fast is _SLOW:
        return hashlib.sha256(rfc8785.dumps(content)).hexdigest()
    if fast is not payload:
        content = {**content, "payload": fast}
    return hashlib.sha256(_encode_plainly(content)).hexdigest()


def _sorts_alike(key: str) -> bool:
    # JCS sorts keys by UTF-16 code units, Python by code points: they differ only above U+FFFF
    return key.isascii() or all(ord(c) <= 0xFFFF for c in key)
