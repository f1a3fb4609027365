"""Coupons: the brand's templates, a member's claim, use at checkout, return, expiry.

Quantity and limits hold under concurrency without locks: the template's `issued_count` is
claimed by a conditional UPDATE (`issued_count + n <= total_quantity`), a member's coupons of a
template are numbered 1..per_member_limit under a unique key, and a coupon is used by a
conditional UPDATE `available → used` (two parallel checkouts: one order gets it).
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from app.catalog.access import require_brand_staff
from app.db import insert_or_ignore, utcnow, uuid7
from app.errors import NotFound
from app.membership.checkout_errors import (
    CouponLimitReached,
    CouponNotClaimable,
    CouponSoldOut,
    CouponUnavailable,
    InvalidCouponTemplate,
)
from app.membership.coupon_models import Coupon, CouponKind, CouponScope, CouponStatus, CouponTemplate
from app.paging import CursorKey, Page, paginate
from app.tenancy.elevation import Why, elevated
from app.tenancy.filters import scoped
from app.tenancy.models import Consumer
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

_TERMS = (CouponTemplate.tenant_id == Coupon.tenant_id) & (CouponTemplate.id == Coupon.template_id)


def create_template(session: Session, scope: Scope, **terms) -> CouponTemplate:
    """The brand defines a coupon: kind and amounts, where it applies, validity, quantities."""
    require_brand_staff(scope, Action.manage_coupons)
    _check_terms(terms)
    template = CouponTemplate(tenant_id=scope.tenant_id, id=uuid7(), owner_path=scope.org_path,
                              issued_count=0, **terms)
    if template.sku_ids:
        template.sku_ids = [str(sku_id) for sku_id in template.sku_ids]
    if template.store_ids is not None:
        template.store_ids = [str(store_id) for store_id in template.store_ids]
    session.add(template)
    session.flush()
    return template


def _check_terms(terms: dict) -> None:
    kind = terms["kind"]
    if kind is CouponKind.percent_off and not 0 < terms.get("percent_off_bp", 0) < 10_000:
        raise InvalidCouponTemplate("A percent_off coupon takes percent_off_bp between 1 and 9999.")
    if kind is not CouponKind.percent_off and terms.get("amount_off_minor", 0) <= 0:
        raise InvalidCouponTemplate("An amount_off or no_threshold coupon takes a positive amount_off_minor.")
    if kind is CouponKind.no_threshold and terms.get("min_goods_minor", 0):
        raise InvalidCouponTemplate("A no_threshold coupon has no min_goods_minor.")
    if (terms.get("valid_days") is None) == (terms.get("valid_to") is None):
        raise InvalidCouponTemplate("Give either valid_to (fixed dates) or valid_days (from issue).")
    if terms.get("valid_from") and terms.get("valid_to") and terms["valid_to"] <= terms["valid_from"]:
        raise InvalidCouponTemplate("valid_to must come after valid_from.")
    scope_of = terms.get("applies_to", CouponScope.all)
    if scope_of is CouponScope.category and terms.get("category_id") is None:
        raise InvalidCouponTemplate("A category coupon names its category_id.")
    if scope_of is CouponScope.skus and not terms.get("sku_ids"):
        raise InvalidCouponTemplate("A SKU coupon lists its sku_ids.")


def list_templates(session: Session, scope: Scope, *, claimable_only: bool = False, limit: int = 50,
                   cursor: CursorKey | None = None) -> Page[CouponTemplate]:
    """Active templates, newest first (claimable and not yet over: what a member may claim)."""
    query = scoped(CouponTemplate, scope).where(CouponTemplate.active.is_(True))
    if claimable_only:
        now = utcnow()
        query = query.where(CouponTemplate.claimable.is_(True),
                            (CouponTemplate.valid_to.is_(None)) | (CouponTemplate.valid_to > now))
    return paginate(session, query, CouponTemplate, limit=limit, cursor=cursor)


def get_template(session: Session, scope: Scope, template_id: uuid.UUID) -> CouponTemplate:
    template = session.scalar(scoped(CouponTemplate, scope).where(CouponTemplate.id == template_id))
    if template is None:
        raise NotFound("No coupon template with that id.")
    return template


def validity(template: CouponTemplate, issued_at: datetime) -> tuple[datetime, datetime]:
    """(valid_from, valid_to) of a coupon issued now: the template's dates, or N days from issue."""
    if template.valid_days is not None:
        return issued_at, issued_at + timedelta(days=template.valid_days)
    return template.valid_from or issued_at, template.valid_to


def claim(session: Session, scope: Scope, *, template_id: uuid.UUID) -> Coupon:
    """A member takes a claimable coupon in the mini-program (领券), within the limits."""
    require(scope, Action.claim_coupon)
    template = get_template(session, scope, template_id)
    now = utcnow()
    if not (template.active and template.claimable) or (template.valid_to and template.valid_to <= now):
        raise CouponNotClaimable("This coupon cannot be claimed.")
    _require_level_for_exclusive(session, scope, template)
    consumer = session.get(Consumer, (scope.tenant_id, scope.consumer_id))
    held = session.scalar(select(func.count()).select_from(Coupon).where(
        Coupon.tenant_id == scope.tenant_id, Coupon.template_id == template.id,
        Coupon.consumer_id == consumer.id))
    if held >= template.per_member_limit:
        raise CouponLimitReached(f"You hold this coupon {held} time(s), the most allowed.")
    with elevated(session, Why.claim_coupon, scope=system_scope(scope.tenant_id)):
        take_quantity(session, template, 1)
        valid_from, valid_to = validity(template, now)
        row = {"tenant_id": scope.tenant_id, "id": uuid7(), "owner_path": consumer.owner_path,
               "template_id": template.id, "consumer_id": consumer.id, "seq": held + 1,
               "status": CouponStatus.available.value, "valid_from": valid_from, "valid_to": valid_to,
               "order_id": None, "used_at": None, "issued_by_job_id": None, "created_at": now}
        inserted = session.execute(insert_or_ignore(session, Coupon.__table__).values(row)
                                   .returning(Coupon.id)).scalar()
    if inserted is None:  # a parallel claim of the same member took this number
        raise CouponLimitReached("You just claimed this coupon.")
    return session.get(Coupon, (scope.tenant_id, inserted))


def _require_level_for_exclusive(session: Session, scope: Scope, template: CouponTemplate) -> None:
    """A template a level lists as exclusive is claimed only by members at such a level."""
    from app.membership.benefits import benefits_for  # noqa: PLC0415
    from app.membership.programs import levels_of  # noqa: PLC0415

    exclusive_to = {level.code for level in levels_of(session, scope.tenant_id)
                    if str(template.id) in {str(t) for t in level.exclusive_coupon_template_ids or ()}}
    level = benefits_for(session, scope.tenant_id, scope.consumer_id).level_code if exclusive_to else None
    if exclusive_to and level not in exclusive_to:
        raise CouponNotClaimable(f"This coupon is for members at level {', '.join(sorted(exclusive_to))}.")


def take_quantity(session: Session, template: CouponTemplate, n: int) -> None:
    """Claim n coupons of the template's total quantity (conditional UPDATE), or CouponSoldOut."""
    condition = [CouponTemplate.tenant_id == template.tenant_id, CouponTemplate.id == template.id]
    if template.total_quantity is not None:
        condition.append(CouponTemplate.issued_count + n <= CouponTemplate.total_quantity)
    claimed = session.execute(update(CouponTemplate).where(*condition)
                              .values(issued_count=CouponTemplate.issued_count + n)
                              .returning(CouponTemplate.issued_count)
                              .execution_options(synchronize_session=False)).scalar()
    if claimed is None:
        raise CouponSoldOut("Every coupon of this template has been issued.")


def my_coupons(session: Session, scope: Scope, *, usable_only: bool = True, limit: int = 50,
               cursor: CursorKey | None = None) -> Page[dict]:
    """A member's coupons with their terms, newest first; usable now only, by default."""
    query = (select(Coupon, CouponTemplate).join(CouponTemplate, _TERMS)
             .where(Coupon.tenant_id == scope.tenant_id, Coupon.consumer_id == scope.consumer_id))
    if usable_only:
        now = utcnow()
        query = query.where(Coupon.status == CouponStatus.available, Coupon.valid_from <= now,
                            Coupon.valid_to > now)
    page = paginate(session, query, Coupon, limit=limit, cursor=cursor)
    return page.map(lambda row: {**columns(row[0]), "template": row[1]})


def card_entries(session: Session, tenant_id: uuid.UUID, consumer_id: uuid.UUID, *,
                 limit: int = 20) -> list[dict]:
    """A member's usable coupons, soonest expiry first, as plain values for the member card."""
    now = utcnow()
    rows = session.execute(
        select(Coupon.id, Coupon.valid_to, CouponTemplate.id, CouponTemplate.name, CouponTemplate.kind,
               CouponTemplate.amount_off_minor, CouponTemplate.percent_off_bp, CouponTemplate.max_off_minor,
               CouponTemplate.min_goods_minor).join(CouponTemplate, _TERMS)
        .where(Coupon.tenant_id == tenant_id, Coupon.consumer_id == consumer_id,
               Coupon.status == CouponStatus.available, Coupon.valid_from <= now, Coupon.valid_to > now)
        .order_by(Coupon.valid_to, Coupon.id).limit(limit))
    return [{"id": str(row[0]), "valid_to": row[1].isoformat(), "template_id": str(row[2]), "name": row[3],
             "kind": row[4].value, "amount_off_minor": row[5], "percent_off_bp": row[6],
             "max_off_minor": row[7], "min_goods_minor": row[8]} for row in rows]


def columns(row) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def mine_at_store(coupon: Coupon | None, template: CouponTemplate | None, *, consumer_id: uuid.UUID | None,
                  store_id: uuid.UUID) -> tuple[Coupon, CouponTemplate]:
    """The coupon as read (checkout_reads), if it is the consumer's and valid at this store, whatever
    its status (placement prices with it; the use then claims it, so a replayed checkout still answers
    the order that used it); else coupon_unavailable."""
    if coupon is None or template is None or coupon.consumer_id != consumer_id:
        raise CouponUnavailable("No such coupon of yours.")
    if template.store_ids is not None and str(store_id) not in template.store_ids:
        raise CouponUnavailable("This coupon is not valid at this store.")
    return coupon, template


def require_usable(coupon: Coupon) -> None:
    """Available and within its dates now (the quote says so before anything is claimed)."""
    now = utcnow()
    if coupon.status is not CouponStatus.available or not coupon.valid_from <= now < coupon.valid_to:
        raise CouponUnavailable(f"This coupon is {coupon.status.value} or outside its dates.")


USED_OR_OUT_OF_DATES = "This coupon is used (maybe just now by another order) or out of its dates."


def use(session: Session, *, tenant_id: uuid.UUID, coupon_id: uuid.UUID, order_id: uuid.UUID) -> None:
    """available → used by this order, once: the conditional UPDATE is the wall between checkouts."""
    now = utcnow()
    used = session.execute(
        update(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.id == coupon_id,
                             Coupon.status == CouponStatus.available, Coupon.valid_from <= now,
                             Coupon.valid_to > now)
        .values(status=CouponStatus.used, order_id=order_id, used_at=now)
        .returning(Coupon.id).execution_options(synchronize_session=False)).first()
    if used is None:
        raise CouponUnavailable(USED_OR_OUT_OF_DATES)


def give_back(session: Session, *, tenant_id: uuid.UUID, order_id: uuid.UUID,
              now: datetime | None = None) -> int:
    """The order's coupon comes back: available within its validity, expired after. Idempotent."""
    now = now or utcnow()
    return session.execute(
        update(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.order_id == order_id,
                             Coupon.status == CouponStatus.used)
        .values(status=case((Coupon.valid_to > now, CouponStatus.available.value),
                            else_=CouponStatus.expired.value), order_id=None, used_at=None)
        .execution_options(synchronize_session=False)).rowcount


def expire(session: Session, *, tenant_id: uuid.UUID, now: datetime | None = None,
           batch: int = 10_000) -> int:
    """available past valid_to → expired: one statement per batch; safe twice or in parallel."""
    now = now or utcnow()
    due = (select(Coupon.id).where(Coupon.tenant_id == tenant_id, Coupon.status == CouponStatus.available,
                                   Coupon.valid_to <= now).limit(batch).scalar_subquery())
    return session.execute(
        update(Coupon).where(Coupon.tenant_id == tenant_id, Coupon.id.in_(due),
                             Coupon.status == CouponStatus.available)
        .values(status=CouponStatus.expired).execution_options(synchronize_session=False)).rowcount
