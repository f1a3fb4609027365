"""The brand configures its program and levels (membership.configure, brand org only)."""

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import uuid7
from app.membership import rules
from app.membership.errors import InvalidLevel, InvalidProgram, LevelCodeTaken, NoProgram
from app.membership.models import MemberLevel, MembershipProgram
from app.membership.programs import program_for
from app.platform.audit import audit
from app.tenancy.models import Tenant
from app.tenancy.orgs import brand_root
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope

LEVEL_CODE = re.compile(r"[a-z0-9_-]{1,40}")
PROGRAM_FIELDS = ("active", "growth_window_months", "grace_days", "return_window_days", "points_expiry",
                  "points_per_unit", "max_points_share_bp", "earn_points_per_unit", "growth_per_unit")
LEVEL_FIELDS = ("name", "rank", "growth_threshold", "retention_threshold", "discount_bp",
                "points_multiplier_pct", "free_shipping_min_minor", "birthday_gift_points",
                "exclusive_coupon_template_ids")


def _require_brand(session: Session, scope: Scope) -> str:
    require(scope, Action.configure_membership)
    brand_path = brand_root(session, scope.tenant_id).path
    require(scope, Action.configure_membership, on=brand_path)
    return brand_path


def configure_program(session: Session, scope: Scope, settings: dict) -> MembershipProgram:
    """Create the tenant's program or change its settings (the fields given)."""
    brand_path = _require_brand(session, scope)
    if "points_expiry" in settings and not rules.valid_expiry_rule(settings["points_expiry"]):
        raise InvalidProgram("points_expiry is never, days:N, end_of_month or end_of_year.",
                             errors={"points_expiry": ["unknown rule"]})
    program = program_for(session, scope.tenant_id)
    if program is None:
        currency = session.get(Tenant, scope.tenant_id).currency
        program = MembershipProgram(tenant_id=scope.tenant_id, id=uuid7(), owner_path=brand_path,
                                    currency=currency)
        session.add(program)
    for name in PROGRAM_FIELDS:
        if name in settings:
            setattr(program, name, settings[name])
    _flush(session, on_unique=InvalidProgram("The tenant has a program already."),
           on_check=InvalidProgram("The program's settings are out of range."))
    audit(session, scope, "membership.configure", owner_path=brand_path, subject_id=program.id,
          program={name: settings[name] for name in PROGRAM_FIELDS if name in settings})
    return program


def put_level(session: Session, scope: Scope, code: str, fields: dict) -> MemberLevel:
    """Create or replace the level with this code (its benefits are data)."""
    brand_path = _require_brand(session, scope)
    if not LEVEL_CODE.fullmatch(code):
        raise InvalidLevel("A level code is 1 to 40 of a-z, 0-9, _ and -.")
    program = program_for(session, scope.tenant_id)
    if program is None:
        raise NoProgram("Configure the membership program first.")
    level = session.scalars(select(MemberLevel).where(MemberLevel.tenant_id == scope.tenant_id,
                                                      MemberLevel.code == code)).one_or_none()
    if level is None:
        level = MemberLevel(tenant_id=scope.tenant_id, id=uuid7(), owner_path=brand_path,
                            program_id=program.id, code=code)
        session.add(level)
    for name in LEVEL_FIELDS:
        if name in fields:
            value = fields[name]
            if name == "exclusive_coupon_template_ids":
                value = [str(template_id) for template_id in value]
            setattr(level, name, value)
    if level.retention_threshold is None:
        level.retention_threshold = level.growth_threshold
    if level.retention_threshold > level.growth_threshold:
        raise InvalidLevel("retention_threshold may not exceed growth_threshold.")
    _flush(session, on_unique=LevelCodeTaken("Another level has that rank."),
           on_check=InvalidLevel("The level's thresholds or benefits are out of range."))
    audit(session, scope, "membership.configure", owner_path=brand_path, subject_id=level.id,
          level=code, fields={name: getattr(level, name) for name in LEVEL_FIELDS})
    return level


def _flush(session: Session, *, on_unique: Exception, on_check: Exception) -> None:
    """Flush in a savepoint; a constraint the database refuses becomes a 4xx, not a 500."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as failure:
        unique = getattr(failure.orig, "sqlstate", None) == "23505" or "UNIQUE" in str(failure.orig)
        raise (on_unique if unique else on_check) from None
