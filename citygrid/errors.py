"""Domain errors: what went wrong, in the domain's words. Domain code raises these and never
imports the web framework or decides a status: the API maps each class to an HTTP status
(``api/errors.py``) and the CLI to an exit code (``cli/errors.py``)."""
from __future__ import annotations


class CitygridError(Exception):
    """Any refusal by citygrid; ``problems`` lists every problem found, each naming what it
    concerns (a field, a feature id, a line)."""

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class NotFound(CitygridError):
    """The thing named does not exist."""


class InvalidInput(CitygridError):
    """Bad input; ``problems`` lists every problem found, each naming what it concerns."""


class Conflict(CitygridError):
    """The request is valid but clashes with the current state (a workflow move, a reused key)."""


class Unauthorized(CitygridError):
    """No valid credentials."""


class Forbidden(CitygridError):
    """The caller's role may not do this."""


class PayloadTooLarge(CitygridError):
    """The input is larger than citygrid accepts."""


class TooManyRequests(CitygridError):
    """A rate limit was hit; ``retry_after`` is whole seconds until the next request may pass."""

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class OperationFailed(CitygridError):
    """An operation on the system itself failed (a backup, a restore, the cluster)."""
