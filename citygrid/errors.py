"""Domain errors. The API maps each class to one HTTP status (api/errors.py); the CLI prints
the message and exits non-zero. Domain code raises these and never imports the web framework."""
from __future__ import annotations


class CitygridError(Exception):
    status = 400

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class NotFound(CitygridError):
    status = 404


class InvalidInput(CitygridError):
    """Bad input; ``problems`` lists every problem found, each naming what it concerns."""
    status = 422


class Conflict(CitygridError):
    status = 409


class Unauthorized(CitygridError):
    status = 401


class Forbidden(CitygridError):
    status = 403


class PayloadTooLarge(CitygridError):
    status = 413


class TooManyRequests(CitygridError):
    """A rate limit was hit; ``retry_after`` is whole seconds until the next request may pass."""
    status = 429

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after
