"""`flask --app wsgi seed-demo`: a small but complete demo network."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.auth.passwords import hash_password
from app.db import uuid7
from app.demo.catalog import seed_catalog
from app.demo.orders import seed_orders
from app.extensions import db
from app.tenancy import grants, network
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.enums import ActorKind, Dataset, Fidelity, IdentityKind, OrgKind, Role
from app.tenancy.models import Consumer, ConsumerIdentity, Org, Tenant, User
from app.tenancy.resolve import staff_scope
from app.tenancy.scope import PLATFORM_SCOPE
from app.uow import unit_of_work

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


def seed_demo() -> list[tuple[str, str, str]]:
    """Build the demo tenant; returns (who, email, org) for the login table."""
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
    logins = [("brand owner", owner.email, brand.name)]
    for key, parent, kind, name in NETWORK:
        orgs[key] = network.create_org(session, brand_scope, parent_id=orgs[parent].id,
                                       kind=kind, name=name, code=key.upper())
        role = Role.admin if kind is OrgKind.distributor else Role.owner
        user = network.create_user(session, brand_scope, org_id=orgs[key].id,
                                   email=f"{key}@acme.example", name=f"{name} {role.value}",
                                   password=DEMO_PASSWORD, role=role)
        logins.append((f"{kind.value} {role.value}", user.email, name))
        if kind is OrgKind.store:
            guide = network.create_user(session, brand_scope, org_id=orgs[key].id,
                                        email=f"guide.{key}@acme.example", name=f"{name} guide",
                                        password=DEMO_PASSWORD, role=Role.guide)
            logins.append(("shopping guide", guide.email, name))
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
    seed_orders(session, tenant, orgs)
    return logins


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


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo tenant 'acme' and print its logins."""
    with unit_of_work():
        logins = seed_demo()
    click.echo(f"Demo tenant '{TENANT_SLUG}' ready. Every password: {DEMO_PASSWORD}")
    for who, email, org in logins:
        click.echo(f"  {who:<22} {email:<32} {org}")
    click.echo("Consumers sign in with POST /auth/consumer/login {tenant, code: 'dev-<name>', store_id}")
