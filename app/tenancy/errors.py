"""Refusals of the tenancy module."""

from app.errors import Conflict, DomainError, Forbidden


class NotAManager(Forbidden):
    code = "not_a_manager"


class InvalidParent(DomainError):
    status, code = 422, "invalid_parent"


class InvalidMove(DomainError):
    status, code = 422, "invalid_move"


class DuplicateEmail(Conflict):
    code = "duplicate_email"


class InvalidGrant(DomainError):
    status, code = 422, "invalid_grant"
