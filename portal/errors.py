"""Domain errors. Services raise them; views turn them into messages and 4xx answers."""


class PortalError(Exception):
    """A request that the domain refuses. `status` is the HTTP answer a view should give."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(PortalError):
    status = 404


class Forbidden(PortalError):
    status = 403


class Conflict(PortalError):
    status = 409


class InvalidTransition(Conflict):
    """A state machine refused a move (opening a closed round, and so on)."""
