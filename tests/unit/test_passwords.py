"""Argon2id at OWASP's cost (m=19 MiB, t=2, p=1), the suite's cheap cost kept to tests, rehash checks."""

import pytest
from argon2 import PasswordHasher

from app.auth import passwords
from app.config import ConfigError


@pytest.fixture
def owasp():
    before = passwords.current_cost()
    passwords.configure("owasp", env="test")
    yield
    passwords.configure(before, env="test")


def test_new_hashes_are_argon2id_at_the_owasp_parameters(owasp):
    hashed = passwords.hash_password("correct-horse-battery")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password(hashed, "correct-horse-battery")
    assert not passwords.verify_password(hashed, "wrong")
    assert not passwords.needs_rehash(hashed)


def test_a_hash_at_other_parameters_still_verifies_and_needs_a_rehash(owasp):
    old = PasswordHasher().hash("pw-at-the-library-default")  # argon2-cffi's default: m=64 MiB, p=4
    assert passwords.verify_password(old, "pw-at-the-library-default")
    assert passwords.needs_rehash(old)
    assert passwords.needs_rehash("not an argon2 hash")


def test_the_suites_minimal_cost_is_refused_outside_the_tests():
    for env in ("production", "demo", "staging"):
        with pytest.raises(ConfigError):
            passwords.configure("minimal", env=env)
    with pytest.raises(ConfigError):
        passwords.configure("cheap", env="test")


def test_an_unknown_user_is_checked_against_a_dummy_hash_of_the_same_cost(owasp):
    assert passwords.verify_password(None, "anything") is False
    assert passwords._hashing.dummy_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
