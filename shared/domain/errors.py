"""What a domain refuses, in the two kinds an API answers differently."""


class DomainError(Exception):
    """A rule of the regulation or of the system refused a command."""


class RuleViolation(DomainError):
    """The command's content breaks a rule (an API answers 422), naming the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class WrongState(DomainError):
    """The command does not fit the aggregate's present state (an API answers 409)."""


class NotFound(DomainError):
    """The command names something that does not exist (an API answers 404, or 422 when it
    is a reference inside the body)."""


class NotAllowed(DomainError):
    """The actor may not give this command (an API answers 403)."""


class NotYetSeen(WrongState):
    """The command names a record this service has not yet learnt of from another service's
    events (an API answers 409 and says to retry: the projection is catching up)."""
