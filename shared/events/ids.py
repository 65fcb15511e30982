"""Event ids: UUIDv7, as asyncpg's own UUID class.

asyncpg's `pgproto.UUID` is a subclass of `uuid.UUID` written in C: equal to and hashed like
a standard-library UUID, made from bytes or text and printed in about a tenth of the time,
and written by asyncpg (COPY, arrays) without a conversion. It is also what asyncpg returns
for a uuid column, so ids read from the store and ids made here are one class. Every event is
given an id when appended and parsed again on every replay, so this is on the hot paths.
"""

from uuid import UUID

import uuid_utils
from asyncpg.pgproto.pgproto import UUID as _FastUUID


def new_event_id() -> UUID:
    """A new UUIDv7 (time-ordered, so the store's unique index grows at one end)."""
    return _FastUUID(uuid_utils.uuid7().bytes)


def parse_event_id(text: str) -> UUID:
    """An id from its text; ValueError if it is not a UUID."""
    return _FastUUID(text)
