"""Which errors say the database is away for now (503, wait and retry) and which are bugs."""

import socket

import asyncpg
import pytest

from shared.store.db import database_away


def raised_while_handling(first: Exception, then: Exception) -> Exception:
    """`then` as raised in an except block of `first`: chained implicitly (__context__), as
    asyncpg's clean-up raises it."""
    then.__context__ = first
    return then


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 15432)"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        socket.gaierror(-3, "Temporary failure in name resolution"),
        OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 15432), ..."),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("cannot call Connection.execute(): connection has been released"
                               " back to the pool"),
        asyncpg.InterfaceError("cannot call Transaction.rollback(): the underlying connection"
                               " is closed"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 21"),
        # a savepoint's rollback after a COPY cut off by a restart (seen in the fault suite)
        raised_while_handling(
            asyncpg.exceptions.InternalClientError("cannot switch to state 21"),
            asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        ),
    ],
)  # fmt: skip
def test_an_outage_is_away(error: Exception) -> None:
    assert database_away(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        FileNotFoundError(2, "No such file"),
        asyncpg.exceptions.UndefinedTableError('relation "nope" does not exist'),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        raised_while_handling(ValueError("a bug"), KeyError("another")),
    ],
)
def test_a_bug_is_not(error: Exception) -> None:
    assert not database_away(error)
