"""Test data builders: tenants with a network, staff scopes, consumers, tokens."""

import functools
import itertools
import uuid
from dataclasses import dataclass, field

from app.auth.passwords import hash_password
from app.db import uuid7
from app.tenancy import network
from app.tenancy.enums import ActorKind, IdentityKind, OrgKind, Role
from app.tenancy.models import Consumer, ConsumerIdentity, Org, Tenant, User
from app.tenancy.resolve import consumer_scope, staff_scope
from app.tenancy.scope import Scope, system_scope
from tests.support.scope import use_scope

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@dataclass
class Net:
    """A tenant with a brand, two distributors (one with a sub-distributor) and three stores.

    brand ─┬─ east ─┬─ shanghai ── jingan
           │        └─ hangzhou
           └─ west ─── chengdu
    """

    tenant: Tenant
    slug: str
    orgs: dict[str, Org] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def org(self, key: str) -> Org:
        return self.orgs[key]


SHAPE = [
    ("east", "brand", OrgKind.distributor),
    ("shanghai", "east", OrgKind.distributor),
    ("west", "brand", OrgKind.distributor),
    ("jingan", "shanghai", OrgKind.store),
    ("hangzhou", "east", OrgKind.store),
    ("chengdu", "west", OrgKind.store),
]


def make_tenant(session, *, slug: str | None = None, settings: dict | None = None) -> Net:
    slug = slug or f"t{next(_counter)}-{uuid.uuid4().hex[:6]}"
    tenant, brand = network.create_tenant(session, slug=slug, name=slug.upper(), settings=settings)
    net = Net(tenant=tenant, slug=slug, orgs={"brand": brand})
    net.users["brand"] = add_user(session, net, "brand", Role.owner)
    scope = scope_of(session, net, "brand")
    for key, parent, kind in SHAPE:
        net.orgs[key] = network.create_org(session, scope, parent_id=net.orgs[parent].id,
                                           kind=kind, name=key.title())
        net.users[key] = add_user(session, net, key, Role.owner)
    return net


@functools.cache
def password_hash() -> str:
    """Argon2 is deliberately slow: hash the shared test password once per run, not per user."""
    return hash_password(PASSWORD)


def add_user(session, net: Net, org_key: str, role: Role, email: str | None = None) -> User:
    use_scope(session, system_scope(net.tenant.id))
    org = net.orgs[org_key]
    user = User(tenant_id=net.tenant.id, id=uuid7(), org_id=org.id, owner_path=org.path,
                email=email or f"{org_key}-{role.value}-{next(_counter)}@example.com",
                name=f"{org_key} {role.value}", password_hash=password_hash(), role=role)
    session.add(user)
    session.flush()
    return user


def scope_of(session, net: Net, org_key: str, role: Role | None = None) -> Scope:
    """The scope of the org's first user (or of `role` there), made current."""
    use_scope(session, system_scope(net.tenant.id))
    org = net.orgs[org_key]
    if org in session:
        session.refresh(org)
    else:  # built by a module seed (tests/conftest.py): read it again in this test's session
        org = session.get(Org, (org.tenant_id, org.id), populate_existing=True)
    user = net.users[org_key]
    scope = staff_scope(session, tenant=net.tenant, org=org, role=role or user.role,
                        actor_kind=ActorKind.staff, actor_id=user.id)
    use_scope(session, scope)
    return scope


def add_consumer(session, net: Net, store_key: str, *, name: str = "王小明",
                 phone: str = "13800138000", openid: str | None = None) -> Consumer:
    use_scope(session, system_scope(net.tenant.id))
    store = net.orgs[store_key]
    consumer = Consumer(tenant_id=net.tenant.id, id=uuid7(), name=name, phone=phone,
                        home_store_id=store.id, owner_path=store.path)
    session.add(consumer)
    if openid:
        session.add(ConsumerIdentity(tenant_id=net.tenant.id, consumer_id=consumer.id,
                                     owner_path=store.path, kind=IdentityKind.wechat_openid,
                                     value=openid))
    session.flush()
    return consumer


def consumer_scope_of(session, consumer: Consumer) -> Scope:
    scope = consumer_scope(consumer.tenant_id, consumer.id)
    use_scope(session, scope)
    return scope


def login(client, net: Net, org_key: str) -> dict:
    """Authorization header of the org's first user, through the real login endpoint."""
    response = client.post("/auth/login", json={
        "tenant": net.slug, "email": net.users[org_key].email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}
