"""Refusals of the membership package, each with its snake_case code and HTTP status."""

from app.errors import DomainError


class InsufficientPoints(DomainError):
    status, code = 409, "insufficient_points"


class NotAMember(DomainError):
    status, code = 404, "not_a_member"


class NoProgram(DomainError):
    status, code = 404, "no_membership_program"


class InvalidProgram(DomainError):
    status, code = 422, "invalid_membership_program"


class InvalidLevel(DomainError):
    status, code = 422, "invalid_member_level"


class LevelCodeTaken(DomainError):
    status, code = 409, "level_code_taken"


class InvalidPoints(DomainError):
    status, code = 422, "invalid_points"
