"""Refusals of authentication."""

from app.errors import DomainError, TooManyRequests, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"


class TooManyAttempts(TooManyRequests):
    code = "too_many_login_attempts"


class LoginProviderUnavailable(DomainError):
    status, code = 502, "login_provider_unavailable"


class StoreRequired(DomainError):
    status, code = 422, "store_required"
