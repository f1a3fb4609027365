"""Access tokens, compound tokens, digests and throttle keys: the pure parts of auth."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.auth.providers import DevProvider
from app.auth.throttle import throttle_keys
from app.auth.tokens import (
    InvalidToken,
    decode_access_token,
    digest,
    issue_access_token,
    new_secret,
    split_compound,
)
from app.errors import Unauthorized

SECRET = "unit-test-secret-unit-test-secret-0123456789"
TENANT, USER, ORG = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def staff_token(**overrides) -> str:
    kwargs = {"ttl_seconds": 60, "tenant_id": TENANT, "subject": USER, "kind": "staff",
              "org_id": ORG, "role": "admin"} | overrides
    return issue_access_token(SECRET, **kwargs)


def claims(**overrides) -> dict:
    now = datetime.now(UTC)
    return {"iss": "tiermall", "iat": now, "exp": now + timedelta(days=1), "tid": str(TENANT),
            "sub": str(USER), "knd": "staff", "org": str(ORG), "rol": "admin"} | overrides


def test_a_staff_token_round_trips_its_claims():
    decoded = decode_access_token(SECRET, staff_token())
    assert (decoded["tid"], decoded["sub"], decoded["knd"]) == (str(TENANT), str(USER), "staff")
    assert (decoded["org"], decoded["rol"]) == (str(ORG), "admin")
    assert decoded["exp"] - decoded["iat"] == 60


def test_a_consumer_token_carries_no_org_or_role():
    token = issue_access_token(SECRET, ttl_seconds=60, tenant_id=TENANT, subject=USER, kind="consumer")
    decoded = decode_access_token(SECRET, token)
    assert decoded["knd"] == "consumer" and "org" not in decoded and "rol" not in decoded


def test_an_expired_token_is_refused_as_token_expired():
    with pytest.raises(InvalidToken) as refused:
        decode_access_token(SECRET, staff_token(ttl_seconds=-1))
    assert refused.value.code == "token_expired" and refused.value.status == 401


@pytest.mark.parametrize("token", [
    jwt.encode(claims(), "some-other-secret-some-other-secret-0123", algorithm="HS256"),
    jwt.encode(claims(), None, algorithm="none"),
    jwt.encode(claims(), SECRET, algorithm="HS384"),
    jwt.encode(claims(iss="someone-else"), SECRET, algorithm="HS256"),
    jwt.encode({k: v for k, v in claims().items() if k != "exp"}, SECRET, algorithm="HS256"),
    jwt.encode({k: v for k, v in claims().items() if k != "sub"}, SECRET, algorithm="HS256"),
    jwt.encode({k: v for k, v in claims().items() if k != "org"}, SECRET, algorithm="HS256"),
    jwt.encode(claims(tid="tenant-one"), SECRET, algorithm="HS256"),
    jwt.encode(claims(knd="admin"), SECRET, algorithm="HS256"),
    jwt.encode(claims(rol="superuser"), SECRET, algorithm="HS256"),
    jwt.encode(claims(sub=12), SECRET, algorithm="HS256"),
    "", "a.b", "a.b.c", "....",
], ids=["wrong secret", "alg none", "other algorithm", "wrong issuer", "no exp", "no sub",
        "staff without org", "tenant not a uuid", "unknown kind", "unknown role",
        "subject not a string", "empty", "two parts", "three garbage parts", "dots"])
def test_broken_or_forged_tokens_are_refused_as_invalid_token(token):
    with pytest.raises(InvalidToken) as refused:
        decode_access_token(SECRET, token)
    assert refused.value.code == "invalid_token"


@given(st.text(max_size=300))
def test_decoding_any_text_either_succeeds_or_raises_invalid_token(text):
    with pytest.raises(InvalidToken):
        decode_access_token(SECRET, text)


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="."), min_size=1), min_size=1,
                max_size=6))
def test_split_compound_accepts_exactly_the_expected_number_of_non_empty_parts(parts):
    token = ".".join(parts)
    assert split_compound(token, len(parts)) == parts
    with pytest.raises(InvalidToken):
        split_compound(token, len(parts) + 1)


@pytest.mark.parametrize("token", ["a..b", ".a.b", "a.b.", ""])
def test_split_compound_refuses_empty_parts(token):
    with pytest.raises(InvalidToken):
        split_compound(token, 3 if token else 1)


def test_secrets_are_random_and_url_safe_and_digests_are_sha256():
    first, second = new_secret(), new_secret()
    assert first != second and len(first) >= 43 and "." not in first
    assert digest(first) == hashlib.sha256(first.encode()).hexdigest()


def test_throttle_keys_ignore_case_and_spaces_of_the_identifier_and_never_hold_it_in_clear():
    keys = throttle_keys("acme", " Owner@Acme.example ", "10.0.0.1")
    assert keys == throttle_keys("ACME", "owner@acme.example", "10.0.0.1")
    assert keys.identity != throttle_keys("other", "owner@acme.example", "10.0.0.1").identity
    assert "owner" not in keys.identity and len(keys.all) == 2
    assert throttle_keys("acme", "x", None).all == [throttle_keys("acme", "x", None).identity]


def test_the_dev_provider_maps_a_dev_code_to_an_openid_and_refuses_others():
    assert DevProvider().exchange(None, "dev-alice").openid == "dev-alice"
    for code in ("dev-", "alice", "wx-code"):
        with pytest.raises(Unauthorized):
            DevProvider().exchange(None, code)
