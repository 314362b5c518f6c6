"""Errors the hub's rules raise; the HTTP layer turns each into a 4xx with a JSON ErrorBody."""

from __future__ import annotations


class HubError(Exception):
    """A request the hub refuses, with one sentence a user can act on and the field at fault."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(HubError):
    status_code = 422
    code = "invalid"


class NotFound(HubError):
    status_code = 404
    code = "not_found"


class Conflict(HubError):
    status_code = 409
    code = "conflict"
