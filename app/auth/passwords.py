"""Password hashing with Argon2id at the OWASP-recommended cost; hashes follow the cost on login.

OWASP's Password Storage Cheat Sheet: Argon2id with m=19 MiB, t=2, p=1 (one core per login:
on a 2-core server a login no longer takes both cores, as argon2-cffi's default p=4, m=64 MiB
did). A hash made at other parameters still verifies (they are stored in the hash) and is
replaced on the next successful login (`needs_rehash`).
"""

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import ConfigError

COSTS = {
    "owasp": {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1},
    # The test suite's: hashing is not what it tests (the tests that are, ask for "owasp").
    "minimal": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}
TEST_ONLY_COSTS = {"minimal"}


class _Hashing:
    def __init__(self, cost: str, hasher: PasswordHasher | None = None):
        self.cost = cost
        self.hasher = hasher or PasswordHasher(type=Type.ID, **COSTS[cost])
        # Verifying against this keeps a login for an unknown email as slow as a wrong password.
        self.dummy_hash = self.hasher.hash("not-a-real-password")


_hashing = _Hashing("owasp")


def configure(cost: str, *, env: str) -> None:
    """Use the named cost (config PASSWORD_HASH_COST); test-only costs only when TIERMALL_ENV=test."""
    global _hashing
    if cost not in COSTS:
        raise ConfigError(f"PASSWORD_HASH_COST must be one of {sorted(COSTS)}")
    if cost in TEST_ONLY_COSTS and env != "test":
        raise ConfigError(f"PASSWORD_HASH_COST={cost} is for the test suite only")
    if _hashing.cost != cost:
        _hashing = _Hashing(cost)


def current_cost() -> str:
    return _hashing.cost


def hash_password(password: str) -> str:
    return _hashing.hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (_hashing.hasher.verify(password_hash or _hashing.dummy_hash, password)
                and password_hash is not None)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a (verified) hash was made at other parameters than the current ones."""
    try:
        return _hashing.hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
