"""Refusals of the tenancy module."""

from app.errors import Conflict, DomainError, Forbidden


class RoleAboveCaller(Forbidden):
    """Granting a role above one's own (to a user or an API key): no escalation."""

    code = "role_above_caller"


class InvalidParent(DomainError):
    status, code = 422, "invalid_parent"


class InvalidMove(DomainError):
    status, code = 422, "invalid_move"


class DuplicateEmail(Conflict):
    code = "duplicate_email"


class InvalidGrant(DomainError):
    status, code = 422, "invalid_grant"
