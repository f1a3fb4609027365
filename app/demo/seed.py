"""The demo network for `flask --app wsgi seed-demo`: small but complete, and its newcomer's guide."""

import uuid
from dataclasses import dataclass, field

import click
from sqlalchemy import select

from app.auth.passwords import hash_password
from app.db import uuid7
from app.demo.catalog import seed_catalog
from app.demo.distribution import seed_distribution  # distribution settlement
from app.demo.membership import seed_membership
from app.demo.offers import seed_offers
from app.demo.orders import seed_orders
from app.extensions import db
from app.tenancy import grants, network
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.enums import ActorKind, Dataset, Fidelity, IdentityKind, OrgKind, Role
from app.tenancy.models import Consumer, ConsumerIdentity, Org, Tenant, User
from app.tenancy.resolve import staff_scope
from app.tenancy.scope import PLATFORM_SCOPE

DEMO_PASSWORD = "demo-password"
TENANT_SLUG = "acme"

NETWORK = [  # (key, parent key, kind, name)
    ("east", "brand", OrgKind.distributor, "East China Distribution"),
    ("shanghai", "east", OrgKind.distributor, "Shanghai Sub-distributor"),
    ("west", "brand", OrgKind.distributor, "West China Distribution"),
    ("jingan", "shanghai", OrgKind.store, "Jing'an Store"),
    ("xuhui", "shanghai", OrgKind.store, "Xuhui Store"),
    ("hangzhou", "east", OrgKind.store, "Hangzhou West Lake Store"),
    ("chengdu", "west", OrgKind.store, "Chengdu Taikoo Li Store"),
]

CONSUMERS = [  # (store key, name, phone)
    ("jingan", "王小明", "13800138001"), ("jingan", "李娜", "13800138002"),
    ("xuhui", "张伟", "13900139003"), ("hangzhou", "陈静", "13700137004"),
    ("chengdu", "刘洋", "13600136005"), ("chengdu", "赵敏", "13500135006"),
]


@dataclass
class DemoGuide:
    """What a newcomer needs to try each surface: staff logins and the stores consumers join."""

    logins: list[tuple[str, str, str, str]] = field(default_factory=list)  # (surface, who, email, org)
    stores: list[tuple[str, uuid.UUID]] = field(default_factory=list)  # (name, id)


SURFACES = {  # role at a kind of org → the API surface it works in
    (OrgKind.brand, Role.owner): "brand admin, finance: /network /catalog /finance /portal",
    (OrgKind.distributor, Role.admin): "distributor portal: /portal /payments /network",
    (OrgKind.store, Role.owner): "store ordering: /store /payments",
    (OrgKind.store, Role.guide): "in-store sales: POST /store/orders/in-store",
}


def seed_demo() -> DemoGuide:
    """Build the demo tenant; returns the logins and store ids to print."""
    session = db.session
    enter_scope(session, Why.seed_demo, scope=PLATFORM_SCOPE)
    if session.scalar(select(Tenant.id).where(Tenant.slug == TENANT_SLUG)):
        raise click.ClickException(f"tenant '{TENANT_SLUG}' already exists; nothing to do")
    tenant, brand = network.create_tenant(session, slug=TENANT_SLUG, name="ACME Tea", currency="CNY")
    owner = User(tenant_id=tenant.id, id=uuid7(), org_id=brand.id, owner_path=brand.path,
                 email="owner@acme.example", name="Brand Owner",
                 password_hash=hash_password(DEMO_PASSWORD), role=Role.owner)
    session.add(owner)
    session.flush()
    brand_scope = staff_scope(session, tenant=tenant, org=brand, role=Role.owner,
                              actor_kind=ActorKind.staff, actor_id=owner.id)
    orgs: dict[str, Org] = {"brand": brand}
    guide = DemoGuide()
    guide.logins.append((SURFACES[OrgKind.brand, Role.owner], "brand owner", owner.email, brand.name))
    for key, parent, kind, name in NETWORK:
        orgs[key] = network.create_org(session, brand_scope, parent_id=orgs[parent].id,
                                       kind=kind, name=name, code=key.upper())
        role = Role.admin if kind is OrgKind.distributor else Role.owner
        user = network.create_user(session, brand_scope, org_id=orgs[key].id,
                                   email=f"{key}@acme.example", name=f"{name} {role.value}",
                                   password=DEMO_PASSWORD, role=role)
        guide.logins.append((SURFACES[kind, role], f"{kind.value} {role.value}", user.email, name))
        if kind is OrgKind.store:
            seller = network.create_user(session, brand_scope, org_id=orgs[key].id,
                                         email=f"guide.{key}@acme.example", name=f"{name} guide",
                                         password=DEMO_PASSWORD, role=Role.guide)
            guide.logins.append((SURFACES[kind, Role.guide], "shopping guide", seller.email, name))
            guide.stores.append((name, orgs[key].id))
    for store_key, name, phone in CONSUMERS:
        store = orgs[store_key]
        consumer = Consumer(tenant_id=tenant.id, id=uuid7(), name=name, phone=phone,
                            home_store_id=store.id, owner_path=store.path)
        session.add(consumer)
        session.add(ConsumerIdentity(tenant_id=tenant.id, consumer_id=consumer.id,
                                     owner_path=store.path, kind=IdentityKind.phone, value=phone))
    session.flush()
    _seed_grants(session, tenant, orgs)
    seed_catalog(session, tenant, orgs)
    seed_membership(session, tenant, brand_scope)  # membership: before the orders, which earn points
    seed_orders(session, tenant, orgs)
    seed_distribution(session, tenant, orgs)  # distribution settlement
    seed_offers(session, tenant, orgs)  # membership: coupons, points mall
    return guide


def guide_text(guide: DemoGuide, base_url: str = "http://127.0.0.1:5000") -> str:
    """The newcomer's page that `seed-demo` prints: one line per login, then the consumer login."""
    lines = [f"Demo tenant '{TENANT_SLUG}' ready. API docs: {base_url}/docs",
             "",
             f"Staff sign in: POST /auth/login {{\"tenant\": \"{TENANT_SLUG}\", \"email\": ..., "
             f"\"password\": \"{DEMO_PASSWORD}\"}}",
             f"  {'email':<30} {'who':<22} {'org':<26} try",
             *(f"  {email:<30} {who:<22} {org:<26} {surface}" for surface, who, email, org in guide.logins),
             "",
             "Consumers (mini-program storefront: /storefront, /payments/orders/<id>/intent) sign in with",
             f"  POST /auth/consumer/login {{\"tenant\": \"{TENANT_SLUG}\", \"code\": \"dev-<any name>\", "
             "\"store_id\": \"<a store id>\"}",
             "  a new name joins that store as its home store; the same name signs in again later. Stores:",
             *(f"  {store_id}  {name}" for name, store_id in guide.stores),
             "",
             "Then send 'Authorization: Bearer <access_token>'; GET /network/me says who you are."]
    return "\n".join(lines)


def _seed_grants(session, tenant: Tenant, orgs: dict[str, Org]) -> None:
    """East shares its consumers in full with the brand; West keeps them to totals."""
    for key, fidelity in (("east", Fidelity.full), ("west", Fidelity.aggregate)):
        admin = session.scalar(select(User).where(User.tenant_id == tenant.id,
                                                  User.email == f"{key}@acme.example"))
        scope = staff_scope(session, tenant=tenant, org=orgs[key], role=admin.role,
                            actor_kind=ActorKind.staff, actor_id=admin.id)
        grants.set_grant(session, scope, grantor_org_id=orgs[key].id,
                         grantee_org_id=orgs["brand"].id, dataset=Dataset.consumers,
                         fidelity=fidelity)
    west_admin_scope = staff_scope(session, tenant=tenant, org=orgs["west"], role=Role.admin,
                                   actor_kind=ActorKind.staff, actor_id=None)
    grants.set_grant(session, west_admin_scope, grantor_org_id=orgs["west"].id,
                     grantee_org_id=orgs["east"].id, dataset=Dataset.sales,
                     fidelity=Fidelity.aggregate)

