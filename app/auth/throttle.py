"""Login throttling: failures are counted per (tenant, identifier) and per client address."""

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth.errors import TooManyAttempts
from app.auth.models import LoginAttempt
from app.db import utcnow


@dataclass(frozen=True)
class ThrottleKeys:
    """Hashes of who is trying (tenant + email or code) and from where (client address)."""

    identity: str
    address: str | None = None

    @property
    def all(self) -> list[str]:
        return [key for key in (self.identity, self.address) if key]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def throttle_keys(tenant_slug: str, identifier: str, client_address: str | None) -> ThrottleKeys:
    return ThrottleKeys(
        identity=_hash(f"id:{tenant_slug.strip().lower()}:{identifier.strip().lower()}"),
        address=_hash(f"ip:{client_address}") if client_address else None)


def check_throttle(session: Session, keys: ThrottleKeys, *, max_failures: int, window_seconds: int,
                   now: datetime | None = None, claimed: bool = False) -> None:
    """Refuse (429 with Retry-After) once a key has `max_failures` failures inside the window
    (not counting this attempt's own claim, when it was `claimed` first)."""
    now = now or utcnow()
    window = timedelta(seconds=window_seconds)
    for key in keys.all:
        # The max-th newest failure: once it leaves the window, the key is below the limit again.
        blocking = session.scalar(
            select(LoginAttempt.failed_at)
            .where(LoginAttempt.key_hash == key, LoginAttempt.failed_at >= now - window)
            .order_by(LoginAttempt.failed_at.desc()).offset(max_failures - 1 + claimed).limit(1))
        if blocking is not None:
            wait = (blocking + window - now).total_seconds()
            raise TooManyAttempts("Too many failed sign-ins; try again later.",
                                  headers={"Retry-After": str(max(1, math.ceil(wait)))})


def record_failure(session: Session, keys: ThrottleKeys, *, window_seconds: int,
                   now: datetime | None = None) -> list:
    """Count one failure per key; failures older than the window are swept on the way.

    Returns the rows' ids: a login claims its failure *before* it checks the password (and
    releases it on success), so parallel guesses cannot all pass the check together."""
    now = now or utcnow()
    session.execute(delete(LoginAttempt).where(
        LoginAttempt.key_hash.in_(keys.all),
        LoginAttempt.failed_at < now - timedelta(seconds=window_seconds)))
    rows = [LoginAttempt(key_hash=key, failed_at=now) for key in keys.all]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def release_claim(session: Session, ids: list) -> None:
    """Forget a claimed attempt that was refused before it was evaluated, or that succeeded."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.id.in_(ids)))


def clear_failures(session: Session, keys: ThrottleKeys) -> None:
    """A successful sign-in forgives its identity's failures (not the address's: one good
    account must not reset an address that is guessing other accounts' passwords)."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.key_hash == keys.identity))
