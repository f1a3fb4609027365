"""Operators add tenants: a brand root org and its first owner, from the CLI or the platform API."""

import re
from dataclasses import dataclass

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.passwords import hash_password
from app.db import uuid7
from app.platform.outbox import record_event
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.enums import ActorKind, Role
from app.tenancy.errors import PlatformOnly, TenantSlugTaken
from app.tenancy.models import Org, Tenant, User
from app.tenancy.network import create_tenant
from app.tenancy.scope import Scope

PASSWORD_ENV = "TIERMALL_OWNER_PASSWORD"
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Onboarded:
    tenant: Tenant
    brand: Org
    owner: User


def onboard_tenant(session: Session, scope: Scope, *, slug: str, name: str, owner_email: str,
                   owner_password: str, owner_name: str = "Owner", currency: str = "CNY",
                   via: str) -> Onboarded:
    """A tenant, its brand org and its first owner; only the platform scope may do this."""
    if not scope.platform:
        raise PlatformOnly("Only a platform operator creates tenants.")
    enter_scope(session, Why.create_tenant, scope=scope)
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise TenantSlugTaken(f"A tenant with the slug '{slug}' exists already.")
    tenant, brand = create_tenant(session, slug=slug, name=name, currency=currency)
    owner = User(tenant_id=tenant.id, id=uuid7(), org_id=brand.id, owner_path=brand.path,
                 email=owner_email.strip().lower(), name=owner_name,
                 password_hash=hash_password(owner_password), role=Role.owner)
    session.add(owner)
    record_event(session, tenant_id=tenant.id, owner_path=brand.path, type="tenant.created",
                 subject_id=tenant.id, payload={
                     "slug": slug, "brand_org_id": str(brand.id), "owner_user_id": str(owner.id),
                     "role": Role.owner.value, "via": via, "actor_kind": ActorKind.system.value,
                     "actor_id": None})
    session.flush()
    return Onboarded(tenant, brand, owner)


@click.command("create-tenant")
@click.option("--slug", required=True, help="Lower-case id used at sign-in, e.g. 'acme'.")
@click.option("--name", required=True, help="The brand's name (also the brand org's).")
@click.option("--owner-email", required=True)
@click.option("--owner-name", default="Owner", show_default=True)
@click.option("--currency", default="CNY", show_default=True)
@click.option("--owner-password", envvar=PASSWORD_ENV, prompt=True, hide_input=True,
              confirmation_prompt=True,
              help=f"Read from ${PASSWORD_ENV} or a prompt; never pass it on the command line.")
def create_tenant_command(slug, name, owner_email, owner_name, currency, owner_password) -> None:
    """Create a tenant with its brand org and first owner (password from a prompt or env)."""
    from app.extensions import db  # noqa: PLC0415
    from app.tenancy.scope import PLATFORM_SCOPE  # noqa: PLC0415
    from app.uow import unit_of_work  # noqa: PLC0415

    problem = validate_onboarding(slug=slug, owner_email=owner_email, owner_password=owner_password)
    if problem:
        raise click.UsageError(problem)
    with unit_of_work() as session:
        try:
            made = onboard_tenant(session, PLATFORM_SCOPE, slug=slug, name=name,
                                  owner_email=owner_email, owner_password=owner_password,
                                  owner_name=owner_name, currency=currency.upper(), via="cli")
        except TenantSlugTaken as error:
            raise click.ClickException(error.message) from None
        ids = made.tenant.id, made.brand.id, made.owner.id
    db.session.remove()
    click.echo(f"tenant {slug}: id {ids[0]}, brand org {ids[1]}, owner {owner_email} ({ids[2]})")


SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


def validate_onboarding(*, slug: str, owner_email: str, owner_password: str) -> str | None:
    """The same rules as the platform API's schema, for the CLI (None when all is well)."""
    if not re.fullmatch(SLUG_PATTERN, slug):
        return "--slug: lower-case letters, digits and inner hyphens, at most 63."
    if "@" not in owner_email:
        return "--owner-email is not an email address."
    if len(owner_password) < MIN_PASSWORD:
        return f"the owner password needs at least {MIN_PASSWORD} characters."
    return None

