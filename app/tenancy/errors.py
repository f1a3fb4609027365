"""Refusals of the tenancy module."""

from typing import TYPE_CHECKING

from app.errors import Conflict, DomainError, Forbidden, Unauthorized

if TYPE_CHECKING:
    from app.tenancy.permissions import Action


class PermissionDenied(Forbidden):
    """403 `forbidden`; the body's `permission` names the action that was missing."""

    def __init__(self, action: "Action", message: str):
        super().__init__(message, extra={"permission": action.value})
        self.action = action


class NotAManager(Forbidden):
    code = "not_a_manager"


class TenantSlugTaken(Conflict):
    code = "tenant_slug_taken"


class PlatformOnly(Forbidden):
    code = "platform_only"


class InvalidPlatformToken(Unauthorized):
    code = "invalid_platform_token"


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
