"""Short-lived access JWTs and opaque refresh tokens (stored only as hashes)."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from app.auth.errors import InvalidToken, TokenExpired
from app.tenancy.enums import Role

ALGORITHM = "HS256"
ISSUER = "tiermall"


def issue_access_token(secret: str, *, ttl_seconds: int, tenant_id: uuid.UUID, subject: uuid.UUID,
                       kind: str, org_id: uuid.UUID | None = None, role: str | None = None) -> str:
    now = datetime.now(UTC)
    claims = {"iss": ISSUER, "iat": now, "exp": now + timedelta(seconds=ttl_seconds),
              "tid": str(tenant_id), "sub": str(subject), "knd": kind}
    if org_id:
        claims |= {"org": str(org_id), "rol": role}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(secret: str, token: str) -> dict:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "tid", "knd"]})
        uuid.UUID(claims["tid"]), uuid.UUID(claims["sub"])
        if claims["knd"] == "staff":
            uuid.UUID(claims["org"]), Role(claims["rol"])
        elif claims["knd"] != "consumer":
            raise ValueError("unknown token kind")
    except jwt.ExpiredSignatureError as error:
        raise TokenExpired("The access token has expired.") from error
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError) as error:
        raise InvalidToken("The access token is not valid.") from error
    return claims


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_compound(token: str, parts: int) -> list[str]:
    """'a.b.c' → ['a', 'b', 'c'] or InvalidToken; ids inside must be UUIDs."""
    pieces = token.split(".")
    if len(pieces) != parts or not all(pieces):
        raise InvalidToken("The token is malformed.")
    return pieces
