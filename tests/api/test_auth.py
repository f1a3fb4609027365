"""Authentication through HTTP: staff login, refresh rotation, access tokens, API keys,
consumer login (ONE ID, WeChat stand-in) and login throttling."""

import hashlib
import threading
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.auth import services
from app.auth.errors import RefreshTokenReused
from app.auth.models import ApiKey, LoginAttempt, RefreshToken
from app.auth.services import AuthSettings
from app.auth.tokens import issue_access_token
from app.db import uuid7
from app.tenancy.enums import Role
from app.tenancy.models import Consumer, ConsumerIdentity, Org, User
from app.tenancy.scope import set_current_scope, system_scope
from tests.factories import PASSWORD, add_consumer, add_user, login, make_tenant
from tests.support.apps import closed_port_url
from tests.support.committed import app_role_engine, delete_tenant
from tests.support.scope import use_scope
from tests.support.wechat import running_wechat

# Ids that name nothing; fixed, so that every xdist worker collects the same test ids.
NOBODY = uuid.UUID("0196b7c2-0000-7000-8000-0000000b0d1e")
NOTHING = uuid.UUID("0196b7c2-0000-7000-8000-00000000dead")


def sign_in(client, net, org_key, *, password=PASSWORD, address="10.0.0.1", email=None):
    return client.post("/auth/login", environ_base={"REMOTE_ADDR": address}, json={
        "tenant": net.slug, "email": email or net.users[org_key].email, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def as_system(session, net):
    """Test-body reads see the whole tenant (a request may have left its own scope behind)."""
    use_scope(session, system_scope(net.tenant.id))


# --- staff login ---------------------------------------------------------------------------

def test_staff_sign_in_returns_a_short_lived_access_token_with_the_scope_claims(client, session, app):
    net = make_tenant(session)
    response = sign_in(client, net, "east")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], app.config["SECRET_KEY"], algorithms=["HS256"],
                        issuer="tiermall")
    assert claims["tid"] == str(net.tenant.id) and claims["sub"] == str(net.users["east"].id)
    assert claims["knd"] == "staff" and claims["org"] == str(net.org("east").id)
    assert claims["rol"] == "owner" and claims["exp"] - claims["iat"] == 900
    assert body["refresh_token"].startswith(f"{net.tenant.id}.")


def test_passwords_are_stored_as_argon2id_hashes(session):
    net = make_tenant(session)
    assert net.users["brand"].password_hash.startswith("$argon2id$")
    assert PASSWORD not in net.users["brand"].password_hash


def test_a_login_rehashes_a_password_stored_at_an_older_cost_and_it_keeps_working(
        client, session, real_password_cost):
    from argon2 import PasswordHasher  # noqa: PLC0415

    net = make_tenant(session)
    user = net.users["east"]
    as_system(session, net)
    user.password_hash = PasswordHasher().hash(PASSWORD)  # argon2-cffi's default cost (m=64 MiB, p=4)
    session.flush()
    assert sign_in(client, net, "east", password="wrong-password").status_code == 401
    assert ",p=4$" in stored_hash(session, net, user)  # a wrong password changes nothing
    assert sign_in(client, net, "east").status_code == 200
    assert stored_hash(session, net, user).startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert sign_in(client, net, "east").status_code == 200


def stored_hash(session, net, user) -> str:
    as_system(session, net)
    return session.scalar(select(User.password_hash).where(User.tenant_id == user.tenant_id,
                                                            User.id == user.id))


def test_a_throttled_login_is_refused_before_any_password_is_hashed(client, session, monkeypatch):
    net = make_tenant(session)
    for _ in range(5):
        assert sign_in(client, net, "east", password="wrong-password").status_code == 401
    checked = []
    monkeypatch.setattr(services, "verify_password", lambda *args: checked.append(args) or True)
    response = sign_in(client, net, "east")
    assert response.status_code == 429 and checked == []


def test_the_email_is_matched_without_regard_to_case(client, session):
    net = make_tenant(session)
    response = sign_in(client, net, "east", email=net.users["east"].email.upper())
    assert response.status_code == 200


def _deactivate_user(session, net):
    net.users["west"].active = False
    session.flush()
    return {"email": net.users["west"].email}


def _deactivate_org(session, net):
    as_system(session, net)
    session.execute(update(Org).where(Org.tenant_id == net.tenant.id, Org.id == net.org("west").id)
                    .values(active=False))
    return {"email": net.users["west"].email}


@pytest.mark.parametrize("case", [
    lambda session, net: {"password": "wrong-password"},
    lambda session, net: {"email": "nobody@example.com"},
    lambda session, net: {"tenant": "no-such-tenant"},
    _deactivate_user,
    _deactivate_org,
], ids=["wrong password", "unknown email", "unknown tenant", "deactivated user", "deactivated org"])
def test_every_refused_sign_in_answers_the_same_401_so_nobody_learns_which_part_was_wrong(
        client, session, case):
    net = make_tenant(session)
    body = {"tenant": net.slug, "email": net.users["west"].email, "password": PASSWORD}
    body |= case(session, net)
    response = client.post("/auth/login", json=body)
    assert response.status_code == 401
    assert response.get_json() == {"code": "invalid_credentials",
                                   "message": "Unknown tenant, email or password."}


# --- refresh rotation ----------------------------------------------------------------------

def refresh(client, token):
    return client.post("/auth/refresh", json={"refresh_token": token})


def test_a_refresh_token_works_once_and_its_successor_works_too(client, session):
    net = make_tenant(session)
    first = sign_in(client, net, "east").get_json()["refresh_token"]
    second = refresh(client, first)
    assert second.status_code == 200, second.get_json()
    tokens = second.get_json()
    assert client.get("/network/me", headers=bearer(tokens["access_token"])).status_code == 200
    third = refresh(client, tokens["refresh_token"])
    assert third.status_code == 200


def test_replaying_a_spent_refresh_token_revokes_the_whole_family(client, session):
    net = make_tenant(session)
    first = sign_in(client, net, "east").get_json()["refresh_token"]
    newest = refresh(client, first).get_json()["refresh_token"]

    replay = refresh(client, first)
    assert replay.status_code == 401 and replay.get_json()["code"] == "refresh_token_reused"
    # The revocation was committed although the request failed: the newest token is dead too.
    after = refresh(client, newest)
    assert after.status_code == 401 and after.get_json()["code"] == "invalid_token"
    as_system(session, net)
    family = session.scalars(select(RefreshToken).where(
        RefreshToken.tenant_id == net.tenant.id, RefreshToken.user_id == net.users["east"].id)).all()
    assert len(family) == 2 and all(row.revoked_at is not None for row in family)


def test_another_sign_in_is_another_family_and_survives_a_replay_elsewhere(client, session):
    net = make_tenant(session)
    phone = sign_in(client, net, "east").get_json()["refresh_token"]
    laptop = sign_in(client, net, "east").get_json()["refresh_token"]
    refresh(client, phone)
    assert refresh(client, phone).status_code == 401
    assert refresh(client, laptop).status_code == 200


def test_an_expired_refresh_token_answers_401(client, session):
    net = make_tenant(session)
    token = sign_in(client, net, "east").get_json()["refresh_token"]
    as_system(session, net)
    session.execute(update(RefreshToken).where(RefreshToken.tenant_id == net.tenant.id)
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    response = refresh(client, token)
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_token"


def test_logout_revokes_the_family(client, session):
    net = make_tenant(session)
    first = sign_in(client, net, "east").get_json()["refresh_token"]
    newest = refresh(client, first).get_json()["refresh_token"]
    response = client.post("/auth/logout", json={"refresh_token": newest})
    assert response.status_code == 204
    assert refresh(client, newest).status_code == 401


def test_a_deactivated_user_cannot_refresh(client, session):
    net = make_tenant(session)
    token = sign_in(client, net, "west").get_json()["refresh_token"]
    net.users["west"].active = False
    session.flush()
    assert refresh(client, token).status_code == 401


@pytest.mark.parametrize("token", [
    "garbage", "no dot at all", f"{NOBODY}.", f".{'x' * 43}", "a.b.c", "not-a-uuid.secret",
    f"{NOBODY}.{'x' * 43}", f"{NOBODY.hex}.{'x' * 43}", "ä.ö", "." * 10,
])
def test_malformed_refresh_tokens_answer_401_never_500(client, session, token):
    for path in ("/auth/refresh", "/auth/logout"):
        response = client.post(path, json={"refresh_token": token})
        assert response.status_code == 401, (path, response.get_json())
        assert response.get_json()["code"] == "invalid_token"


def test_a_refresh_token_of_one_tenant_presented_as_another_tenants_answers_401(client, session):
    mine, theirs = make_tenant(session), make_tenant(session)
    token = sign_in(client, mine, "east").get_json()["refresh_token"]
    forged = f"{theirs.tenant.id}.{token.split('.', 1)[1]}"
    assert refresh(client, forged).status_code == 401


# --- access tokens -------------------------------------------------------------------------

def staff_token(app, net, org_key, **overrides):
    kwargs = {"ttl_seconds": 60, "tenant_id": net.tenant.id, "subject": net.users[org_key].id,
              "kind": "staff", "org_id": net.org(org_key).id, "role": "owner"} | overrides
    return issue_access_token(app.config["SECRET_KEY"], **kwargs)


def test_an_expired_access_token_answers_401_token_expired(client, session, app):
    net = make_tenant(session)
    token = staff_token(app, net, "east", ttl_seconds=-5)
    response = client.get("/network/me", headers=bearer(token))
    assert response.status_code == 401 and response.get_json()["code"] == "token_expired"


def _claims(app, net):
    now = datetime.now(UTC)
    return {"iss": "tiermall", "iat": now, "exp": now + timedelta(minutes=1),
            "tid": str(net.tenant.id), "sub": str(net.users["east"].id), "knd": "staff",
            "org": str(net.org("east").id), "rol": "owner"}


@pytest.mark.parametrize("forge", [
    lambda app, claims: jwt.encode(claims, "another-secret-another-secret-another", algorithm="HS256"),
    lambda app, claims: jwt.encode(claims, None, algorithm="none"),
    lambda app, claims: jwt.encode(claims, app.config["SECRET_KEY"], algorithm="HS512"),
    lambda app, claims: jwt.encode({k: v for k, v in claims.items() if k != "tid"},
                                   app.config["SECRET_KEY"], algorithm="HS256"),
    lambda app, claims: jwt.encode(claims | {"knd": "robot"}, app.config["SECRET_KEY"], algorithm="HS256"),
    lambda app, claims: jwt.encode(claims | {"sub": "x"}, app.config["SECRET_KEY"], algorithm="HS256"),
    lambda app, claims: jwt.encode(claims | {"rol": "king"}, app.config["SECRET_KEY"], algorithm="HS256"),
    lambda app, claims: jwt.encode(claims | {"iss": "elsewhere"}, app.config["SECRET_KEY"],
                                   algorithm="HS256"),
    lambda app, claims: "not.a.jwt",
], ids=["wrong signature", "alg none", "other algorithm", "missing tenant", "unknown kind",
        "subject not a uuid", "unknown role", "wrong issuer", "garbage"])
def test_forged_or_broken_access_tokens_answer_401(client, session, app, forge):
    net = make_tenant(session)
    response = client.get("/network/me", headers=bearer(forge(app, _claims(app, net))))
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_token"


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_without_a_bearer_token_the_answer_is_401_missing_credentials(client, session, header):
    response = client.get("/network/orgs", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and response.get_json()["code"] == "missing_credentials"


def test_a_deactivated_users_access_token_stops_working_at_once(client, session):
    net = make_tenant(session)
    headers = login(client, net, "west")
    net.users["west"].active = False
    session.flush()
    assert client.get("/network/me", headers=headers).status_code == 401


def test_a_demoted_user_acts_with_the_new_role_before_the_token_expires(client, session):
    net = make_tenant(session)
    headers = login(client, net, "west")
    net.users["west"].role = Role.viewer
    session.flush()
    assert client.get("/network/me", headers=headers).get_json()["role"] == "viewer"


def test_a_consumer_token_on_a_staff_endpoint_answers_403_staff_only(client, session):
    net = make_tenant(session)
    response = client.post("/auth/consumer/login", json={
        "tenant": net.slug, "code": "dev-alice", "store_id": str(net.org("jingan").id)})
    headers = bearer(response.get_json()["access_token"])
    for path in ("/network/orgs", "/auth/api-keys", "/network/consumers"):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 403 and answer.get_json()["code"] == "staff_only", path


# --- API keys ------------------------------------------------------------------------------

def create_key(client, headers, org_id, **extra):
    return client.post("/auth/api-keys", headers=headers,
                       json={"org_id": str(org_id), "name": "ERP", **extra})


def test_a_manager_creates_a_key_that_is_shown_once_and_stored_only_as_its_sha256(client, session):
    net = make_tenant(session)
    response = create_key(client, login(client, net, "east"), net.org("east").id, role="buyer")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    prefix, tenant_hex, key_hex, secret = body["key"].split(".")
    assert (prefix, tenant_hex, key_hex) == ("tmk", net.tenant.id.hex, uuid.UUID(body["id"]).hex)
    assert body["role"] == "buyer" and body["org_id"] == str(net.org("east").id)
    as_system(session, net)
    stored = session.get(ApiKey, (net.tenant.id, uuid.UUID(body["id"])))
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    listed = client.get("/auth/api-keys", headers=login(client, net, "east")).get_json()
    assert [key["id"] for key in listed] == [body["id"]] and "key" not in listed[0]


@pytest.mark.parametrize("role", [Role.finance, Role.buyer, Role.guide, Role.viewer])
def test_only_owners_and_admins_create_keys(client, session, role):
    net = make_tenant(session)
    user = add_user(session, net, "east", role)
    headers = login_as(client, net, user.email)
    response = create_key(client, headers, net.org("east").id)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert response.get_json()["permission"] == "api_keys.manage"


def login_as(client, net, email):
    response = client.post("/auth/login", json={"tenant": net.slug, "email": email,
                                                "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json()["access_token"])


def test_an_admin_may_not_mint_an_owner_key_but_an_owner_may(client, session):
    net = make_tenant(session)
    admin = login_as(client, net, add_user(session, net, "east", Role.admin).email)
    assert create_key(client, admin, net.org("east").id, role="owner").status_code == 403
    assert create_key(client, admin, net.org("east").id, role="admin").status_code == 201
    owner = login(client, net, "east")
    assert create_key(client, owner, net.org("east").id, role="owner").status_code == 201


def test_a_manager_creates_keys_for_orgs_below_but_not_for_a_sibling(client, session):
    net = make_tenant(session)
    east = login(client, net, "east")
    assert create_key(client, east, net.org("jingan").id).status_code == 201
    response = create_key(client, east, net.org("chengdu").id)
    assert response.status_code == 404


def test_an_api_key_authenticates_with_its_orgs_scope_and_role(client, session):
    net = make_tenant(session)
    plain = create_key(client, login(client, net, "east"), net.org("east").id,
                       role="viewer").get_json()["key"]
    headers = {"X-Api-Key": plain}
    orgs = client.get("/network/orgs", headers=headers)
    assert orgs.status_code == 200
    names = {org["name"] for org in orgs.get_json()["items"]}
    assert names == {net.slug.upper(), "East", "Shanghai", "Jingan", "Hangzhou"}
    assert client.get(f"/network/orgs/{net.org('chengdu').id}", headers=headers).status_code == 404
    me = client.get("/network/me", headers=headers).get_json()
    assert me["actor_kind"] == "api_key" and me["role"] == "viewer"
    # A viewer key cannot manage anything, not even more keys.
    assert create_key(client, headers, net.org("east").id).status_code == 403


def test_a_key_does_not_see_a_sibling_orgs_consumers(client, session):
    net = make_tenant(session)
    theirs = add_consumer(session, net, "chengdu")
    mine = add_consumer(session, net, "jingan")
    plain = create_key(client, login(client, net, "east"), net.org("east").id).get_json()["key"]
    headers = {"X-Api-Key": plain}
    assert client.get(f"/network/consumers/{mine.id}", headers=headers).status_code == 200
    assert client.get(f"/network/consumers/{theirs.id}", headers=headers).status_code == 404
    listed = {row["id"] for row in client.get("/network/consumers", headers=headers).get_json()["items"]}
    assert listed == {str(mine.id)}


def test_a_revoked_key_answers_401(client, session):
    net = make_tenant(session)
    east = login(client, net, "east")
    created = create_key(client, east, net.org("east").id).get_json()
    assert client.get("/network/me", headers={"X-Api-Key": created["key"]}).status_code == 200
    revoked = client.delete(f"/auth/api-keys/{created['id']}", headers=east)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    response = client.get("/network/me", headers={"X-Api-Key": created["key"]})
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_token"


@pytest.mark.parametrize("presented", [
    "garbage", "tmk.a.b.c", f"xxx.{NOBODY.hex}.{NOTHING.hex}.secret",
    f"tmk.{NOBODY.hex}.{NOTHING.hex}.secret", "tmk...", "tmk.1.2.3.4",
])
def test_malformed_or_unknown_api_keys_answer_401(client, session, presented):
    response = client.get("/network/me", headers={"X-Api-Key": presented})
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_token"


def test_a_key_with_the_right_ids_but_a_wrong_secret_answers_401(client, session):
    net = make_tenant(session)
    plain = create_key(client, login(client, net, "east"), net.org("east").id).get_json()["key"]
    forged = plain.rsplit(".", 1)[0] + ".wrong-secret"
    assert client.get("/network/me", headers={"X-Api-Key": forged}).status_code == 401


def test_keys_are_listed_for_my_subtree_only(client, session):
    net = make_tenant(session)
    create_key(client, login(client, net, "shanghai"), net.org("shanghai").id)
    create_key(client, login(client, net, "west"), net.org("west").id)
    def listed(org_key):
        return {k["org_id"] for k in client.get("/auth/api-keys", headers=login(client, net, org_key))
                .get_json()}
    assert listed("brand") == {str(net.org("shanghai").id), str(net.org("west").id)}
    assert listed("east") == {str(net.org("shanghai").id)}
    assert listed("west") == {str(net.org("west").id)}
    assert listed("hangzhou") == set()


def test_a_sibling_cannot_revoke_my_key(client, session):
    net = make_tenant(session)
    key_id = create_key(client, login(client, net, "east"), net.org("east").id).get_json()["id"]
    response = client.delete(f"/auth/api-keys/{key_id}", headers=login(client, net, "west"))
    assert response.status_code == 404


def test_last_used_at_is_recorded_at_most_once_a_minute(client, session):
    net = make_tenant(session)
    created = create_key(client, login(client, net, "east"), net.org("east").id).get_json()
    headers, key_id = {"X-Api-Key": created["key"]}, uuid.UUID(created["id"])

    def last_used():
        as_system(session, net)
        return session.scalar(select(ApiKey.last_used_at).where(
            ApiKey.tenant_id == net.tenant.id, ApiKey.id == key_id))

    assert last_used() is None
    client.get("/network/me", headers=headers)
    first = last_used()
    assert first is not None
    client.get("/network/me", headers=headers)
    assert last_used() == first
    a_while_ago = datetime.now(UTC) - timedelta(minutes=2)
    session.execute(update(ApiKey).where(ApiKey.tenant_id == net.tenant.id, ApiKey.id == key_id)
                    .values(last_used_at=a_while_ago))
    client.get("/network/me", headers=headers)
    assert last_used() > a_while_ago + timedelta(minutes=1)


def test_last_used_at_is_kept_even_when_the_request_then_fails(client, session):
    net = make_tenant(session)
    created = create_key(client, login(client, net, "east"), net.org("east").id,
                         role="viewer").get_json()
    response = create_key(client, {"X-Api-Key": created["key"]}, net.org("east").id)
    assert response.status_code == 403
    as_system(session, net)
    assert session.get(ApiKey, (net.tenant.id, uuid.UUID(created["id"]))).last_used_at is not None


# --- consumer login ------------------------------------------------------------------------

def consumer_login(client, net, code, store_key=None, **extra):
    body = {"tenant": net.slug, "code": code, **extra}
    if store_key:
        body["store_id"] = str(net.org(store_key).id)
    return client.post("/auth/consumer/login", json=body)


def subject_of(response, app) -> uuid.UUID:
    claims = jwt.decode(response.get_json()["access_token"], app.config["SECRET_KEY"],
                        algorithms=["HS256"], issuer="tiermall")
    assert claims["knd"] == "consumer"
    return uuid.UUID(claims["sub"])


def test_a_new_consumer_enrols_at_the_store_of_the_qr_code(client, session, app):
    net = make_tenant(session)
    response = consumer_login(client, net, "dev-alice", "jingan")
    assert response.status_code == 200, response.get_json()
    as_system(session, net)
    consumer = session.get(Consumer, (net.tenant.id, subject_of(response, app)))
    assert consumer.home_store_id == net.org("jingan").id
    assert consumer.owner_path == net.org("jingan").path


def test_the_same_openid_signs_into_the_same_consumer(client, session, app):
    net = make_tenant(session)
    first = subject_of(consumer_login(client, net, "dev-alice", "jingan"), app)
    again = consumer_login(client, net, "dev-alice")
    assert again.status_code == 200 and subject_of(again, app) == first
    elsewhere = consumer_login(client, net, "dev-alice", "chengdu")
    assert subject_of(elsewhere, app) == first  # a known member keeps their home store


@pytest.mark.parametrize("store", [None, "east", "other tenant", "deactivated", "unknown"])
def test_a_new_consumer_needs_an_active_store_of_the_tenant(client, session, store):
    net, other = make_tenant(session), make_tenant(session)
    store_id = {None: None, "east": net.org("east").id, "other tenant": other.org("jingan").id,
                "deactivated": net.org("chengdu").id, "unknown": uuid7()}[store]
    if store == "deactivated":
        as_system(session, net)
        session.execute(update(Org).where(Org.tenant_id == net.tenant.id,
                                          Org.id == net.org("chengdu").id).values(active=False))
    body = {"tenant": net.slug, "code": "dev-bob"}
    if store_id:
        body["store_id"] = str(store_id)
    response = client.post("/auth/consumer/login", json=body)
    assert response.status_code == 422
    assert response.get_json()["code"] == "store_required"
    as_system(session, net)
    assert session.scalar(select(func.count()).select_from(ConsumerIdentity).where(
        ConsumerIdentity.tenant_id == net.tenant.id)) == 0


def test_a_consumer_token_sees_their_own_record_and_nobody_elses(client, session, app):
    net = make_tenant(session)
    neighbour = add_consumer(session, net, "jingan")
    response = consumer_login(client, net, "dev-carol", "jingan")
    own_id, headers = subject_of(response, app), bearer(response.get_json()["access_token"])
    mine = client.get(f"/network/consumers/{own_id}", headers=headers)
    assert mine.status_code == 200 and mine.get_json()["id"] == str(own_id)
    assert client.get(f"/network/consumers/{neighbour.id}", headers=headers).status_code == 404
    assert client.get("/network/me", headers=headers).get_json()["actor_kind"] == "consumer"


def test_a_consumer_refreshes_their_tokens_too(client, session, app):
    net = make_tenant(session)
    first = consumer_login(client, net, "dev-dan", "hangzhou")
    second = refresh(client, first.get_json()["refresh_token"])
    assert second.status_code == 200 and subject_of(second, app) == subject_of(first, app)


def test_the_dev_provider_refuses_codes_that_are_not_dev_codes(client, session):
    net = make_tenant(session)
    response = consumer_login(client, net, "real-wechat-code", "jingan")
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_credentials"


@pytest.fixture
def wechat(app):
    """The app signs consumers in through a local WeChat stand-in for the duration of a test."""
    saved = {key: app.config[key] for key in ("CONSUMER_LOGIN_PROVIDER", "WECHAT_API_BASE")}
    with running_wechat() as stand_in:
        app.config.update(CONSUMER_LOGIN_PROVIDER="wechat", WECHAT_API_BASE=stand_in.base_url)
        try:
            yield stand_in
        finally:
            app.config.update(saved)


def wechat_tenant(session, stand_in):
    net = make_tenant(session)
    net.tenant.wechat_appid, net.tenant.wechat_secret = stand_in.appid, stand_in.secret
    session.flush()
    return net


def test_wechat_login_sends_appid_secret_and_code_and_signs_the_member_in(client, session, app,
                                                                          wechat):
    net = wechat_tenant(session, wechat)
    wechat.knows("code-1", openid="o-mall-1", unionid="u-1")
    response = consumer_login(client, net, "code-1", "jingan")
    assert response.status_code == 200, response.get_json()
    assert wechat.requests == [{"appid": wechat.appid, "secret": wechat.secret, "js_code": "code-1",
                                "grant_type": "authorization_code"}]
    as_system(session, net)
    identities = set(session.execute(select(ConsumerIdentity.kind, ConsumerIdentity.value).where(
        ConsumerIdentity.tenant_id == net.tenant.id, ConsumerIdentity.consumer_id == subject_of(
            response, app))).all())
    assert identities == {("wechat_openid", "o-mall-1"), ("wechat_unionid", "u-1")}


def test_an_invalid_wechat_code_answers_401(client, session, wechat):
    net = wechat_tenant(session, wechat)
    response = consumer_login(client, net, "expired-code", "jingan")
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_credentials"


def test_another_mini_program_of_the_brand_maps_to_the_same_consumer_by_unionid(client, session, app,
                                                                               wechat):
    net = wechat_tenant(session, wechat)
    wechat.knows("mall-code", openid="o-mall", unionid="u-same-person")
    wechat.knows("club-code", openid="o-club", unionid="u-same-person")
    mall = subject_of(consumer_login(client, net, "mall-code", "jingan"), app)
    club = consumer_login(client, net, "club-code")  # no store: the unionid already knows them
    assert club.status_code == 200, club.get_json()
    assert subject_of(club, app) == mall
    as_system(session, net)
    openids = set(session.scalars(select(ConsumerIdentity.value).where(
        ConsumerIdentity.tenant_id == net.tenant.id, ConsumerIdentity.consumer_id == mall,
        ConsumerIdentity.kind == "wechat_openid")))
    assert openids == {"o-mall", "o-club"}


def test_a_wechat_login_without_unionid_still_works(client, session, app, wechat):
    net = wechat_tenant(session, wechat)
    wechat.knows("plain-code", openid="o-plain")
    first = subject_of(consumer_login(client, net, "plain-code", "jingan"), app)
    assert subject_of(consumer_login(client, net, "plain-code"), app) == first


def test_a_tenant_without_a_mini_program_answers_502(client, session, wechat):
    net = make_tenant(session)
    response = consumer_login(client, net, "code", "jingan")
    assert response.status_code == 502 and response.get_json()["code"] == "login_provider_unavailable"


def test_when_wechat_is_down_the_answer_is_502(client, session, app, wechat):
    net = wechat_tenant(session, wechat)
    app.config["WECHAT_API_BASE"] = closed_port_url()
    response = consumer_login(client, net, "code", "jingan")
    assert response.status_code == 502
    assert response.get_json()["code"] == "login_provider_unavailable"


def test_when_wechat_answers_with_a_wrong_secret_the_code_is_refused(client, session, wechat):
    net = wechat_tenant(session, wechat)
    net.tenant.wechat_secret = "stale-secret"
    session.flush()
    wechat.knows("code", openid="o-1")
    assert consumer_login(client, net, "code", "jingan").status_code == 401


# --- throttling ----------------------------------------------------------------------------

def failures_recorded(session) -> int:
    return session.scalar(select(func.count()).select_from(LoginAttempt))


def test_after_five_failures_even_the_right_password_answers_429_with_retry_after(client, session):
    net = make_tenant(session)
    before = failures_recorded(session)
    for _ in range(5):
        assert sign_in(client, net, "east", password="wrong").status_code == 401
    # Each failed request committed its failure (one row per key: identity and address).
    assert failures_recorded(session) - before == 10
    response = sign_in(client, net, "east")
    assert response.status_code == 429
    assert response.get_json()["code"] == "too_many_login_attempts"
    assert 800 < int(response.headers["Retry-After"]) <= 900


def test_the_identity_limit_holds_from_another_address(client, session):
    net = make_tenant(session)
    for n in range(5):
        sign_in(client, net, "east", password="wrong", address=f"10.0.1.{n}")
    assert sign_in(client, net, "east", address="10.9.9.9").status_code == 429
    assert sign_in(client, net, "west", address="10.9.9.9").status_code == 200


def test_the_address_limit_holds_for_other_emails(client, session):
    net = make_tenant(session)
    for n in range(5):
        response = sign_in(client, net, "east", email=f"guess{n}@example.com", address="10.0.2.1")
        assert response.status_code == 401
    assert sign_in(client, net, "west", address="10.0.2.1").status_code == 429
    assert sign_in(client, net, "west", address="10.0.2.2").status_code == 200


def test_failures_older_than_the_window_do_not_count(client, session):
    net = make_tenant(session)
    for _ in range(4):
        sign_in(client, net, "east", password="wrong")
    session.execute(update(LoginAttempt).values(failed_at=datetime.now(UTC) - timedelta(hours=1)))
    for _ in range(4):
        sign_in(client, net, "east", password="wrong")
    assert sign_in(client, net, "east").status_code == 200


def test_a_successful_sign_in_forgives_the_identitys_earlier_failures(client, session):
    net = make_tenant(session)
    for n in range(4):
        sign_in(client, net, "east", password="wrong", address=f"10.0.3.{n}")
    assert sign_in(client, net, "east", address="10.0.3.9").status_code == 200
    for n in range(4):
        sign_in(client, net, "east", password="wrong", address=f"10.0.4.{n}")
    assert sign_in(client, net, "east", address="10.0.4.9").status_code == 200


def test_consumer_logins_are_throttled_too(client, session):
    net = make_tenant(session)
    for _ in range(5):
        response = client.post("/auth/consumer/login", environ_base={"REMOTE_ADDR": "10.0.5.1"},
                               json={"tenant": net.slug, "code": "not-a-dev-code"})
        assert response.status_code == 401
    response = client.post("/auth/consumer/login", environ_base={"REMOTE_ADDR": "10.0.5.1"},
                           json={"tenant": net.slug, "code": "dev-eve",
                                 "store_id": str(net.org("jingan").id)})
    assert response.status_code == 429 and "Retry-After" in response.headers


# --- refresh under real concurrency (own committed connections, not the test transaction) ---

RACERS = 8


@pytest.mark.postgres
def test_of_parallel_refreshes_with_one_token_exactly_one_wins_and_the_family_is_revoked(app):
    engine = app_role_engine()
    settings = AuthSettings(secret_key=app.config["SECRET_KEY"])
    with Session(engine, expire_on_commit=False) as setup:
        net = make_tenant(setup)
        token = services.staff_login(setup, settings, tenant_slug=net.slug,
                                     email=net.users["east"].email, password=PASSWORD).refresh_token
        setup.commit()
    set_current_scope(None)
    barrier, outcomes = threading.Barrier(RACERS), []

    def race() -> None:
        with Session(engine) as session:
            try:
                barrier.wait(timeout=30)
                services.refresh(session, settings, refresh_token=token)
                session.commit()
                outcomes.append("refreshed")
            except RefreshTokenReused:
                session.commit()  # as the view does: the revocation must persist
                outcomes.append("reused")
            except Exception as error:  # noqa: BLE001  (reported in the assertion)
                session.rollback()
                outcomes.append(repr(error))

    try:
        threads = [threading.Thread(target=race) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["refreshed"] + ["reused"] * (RACERS - 1)
        with Session(engine) as check:
            use_scope(check, system_scope(net.tenant.id))
            rows = check.scalars(select(RefreshToken).where(
                RefreshToken.tenant_id == net.tenant.id)).all()
            # The winner's new token was revoked with its family: a replay kills the session.
            assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    finally:
        set_current_scope(None)
        engine.dispose()
        delete_tenant(net.tenant.id)


# --- safe configuration and consumer re-checks (issue 9, item 6) ---------------------------------

def test_the_app_refuses_to_start_on_postgresql_without_its_own_key():
    from app import create_app  # noqa: PLC0415
    from app.config import DEMO_SECRET_KEY, ConfigError  # noqa: PLC0415

    for secret in (DEMO_SECRET_KEY, "short"):
        with pytest.raises(ConfigError):
            create_app({"TIERMALL_ENV": "test", "SECRET_KEY": secret,
                        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x@127.0.0.1/none"})


def test_a_token_forged_with_the_published_demo_key_is_refused(client, session, app):
    from app.config import DEMO_SECRET_KEY  # noqa: PLC0415

    net = make_tenant(session)
    assert app.config["SECRET_KEY"] != DEMO_SECRET_KEY
    forged = issue_access_token(DEMO_SECRET_KEY, ttl_seconds=60, tenant_id=net.tenant.id,
                                subject=net.users["brand"].id, kind="staff",
                                org_id=net.org("brand").id, role="owner")
    response = client.get("/network/me", headers=bearer(forged))
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_token"


def test_the_dev_consumer_login_is_refused_in_production_even_if_configured(client, session, app):
    net = make_tenant(session)
    session.commit()
    app.config["TIERMALL_ENV"] = "production"
    try:
        response = consumer_login(client, net, "dev-mallory", "jingan")
    finally:
        app.config["TIERMALL_ENV"] = "test"
    assert response.status_code == 401


def test_a_consumer_token_stops_working_once_the_consumer_is_gone(client, session, app):
    net = make_tenant(session)
    response = consumer_login(client, net, "dev-erased", "jingan")
    own_id, headers = subject_of(response, app), bearer(response.get_json()["access_token"])
    assert client.get("/network/me", headers=headers).status_code == 200
    use_scope(session, system_scope(net.tenant.id))
    session.execute(delete(Consumer).where(Consumer.tenant_id == net.tenant.id, Consumer.id == own_id))
    session.commit()
    response = client.get("/network/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_token"
