"""Refusals of authentication."""

from app.errors import DomainError, Forbidden, TooManyRequests, Unauthorized


class MissingCredentials(Unauthorized):
    code = "missing_credentials"


class InvalidToken(Unauthorized):
    code = "invalid_token"


class TokenExpired(InvalidToken):
    code = "token_expired"


class StaffOnly(Forbidden):
    code = "staff_only"


class ConsumerOnly(Forbidden):
    code = "consumer_only"


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
