"""Builders for coupons, the checkout waterfall and the points mall: a program with a gold level,
members with available points, coupon templates and coupons (system scope, flushed)."""

from datetime import timedelta

from app.db import utcnow, uuid7
from app.membership import points as ledger
from app.membership.checkout_models import MallItem
from app.membership.coupon_models import Coupon, CouponKind, CouponStatus, CouponTemplate
from app.membership.members import ensure_member
from app.membership.models import LotStatus, MemberLevel, MembershipProgram, MoveKind
from app.tenancy.scope import system_scope
from tests.factories import Net
from tests.support.scope import use_scope


def program_with_gold(session, net: Net, *, discount_bp: int = 1000, free_shipping_min_minor=None,
                      max_points_share_bp: int = 5000) -> MembershipProgram:
    """100 points = 1 CNY (1 point = 1 fen); a base level and a gold level with a discount."""
    use_scope(session, system_scope(net.tenant.id))
    brand = net.org("brand")
    program = MembershipProgram(tenant_id=net.tenant.id, id=uuid7(), owner_path=brand.path, active=True,
                                currency="CNY", points_per_unit=100, max_points_share_bp=max_points_share_bp,
                                earn_points_per_unit=1, growth_per_unit=1, growth_window_months=12,
                                grace_days=30, return_window_days=7, points_expiry="never")
    session.add(program)
    session.flush()
    levels = [("base", 0, 0, None), ("gold", 1000, discount_bp, free_shipping_min_minor)]
    for rank, (code, threshold, bp, free) in enumerate(levels):
        session.add(MemberLevel(tenant_id=net.tenant.id, id=uuid7(), owner_path=brand.path,
                                program_id=program.id, code=code, name=code.title(), rank=rank,
                                growth_threshold=threshold, retention_threshold=threshold, discount_bp=bp,
                                points_multiplier_pct=100, free_shipping_min_minor=free,
                                birthday_gift_points=0, exclusive_coupon_template_ids=[]))
    session.flush()
    return program


def gold_member(session, net: Net, consumer, *, points: int = 0):
    """The consumer as a gold member with `points` available."""
    use_scope(session, system_scope(net.tenant.id))
    member = ensure_member(session, net.tenant.id, consumer.id)
    gold = session.query(MemberLevel).filter_by(tenant_id=net.tenant.id, code="gold").one()
    member.level_id = gold.id
    session.flush()
    if points:
        ledger.credit(session, member, points=points, origin="adjust", kind=MoveKind.adjust,
                      source_key=f"test:{uuid7()}", status=LotStatus.available, available_at=utcnow(),
                      expires_at=None)
    session.flush()
    return member


def template(session, net: Net, *, kind=CouponKind.amount_off, amount_off_minor: int = 1000,
             min_goods_minor: int = 0, valid_days: int | None = 30, **terms) -> CouponTemplate:
    use_scope(session, system_scope(net.tenant.id))
    row = CouponTemplate(tenant_id=net.tenant.id, id=uuid7(), owner_path=net.org("brand").path,
                         name="test coupon", kind=kind, amount_off_minor=amount_off_minor,
                         min_goods_minor=min_goods_minor, valid_days=valid_days, issued_count=0,
                         **{"percent_off_bp": 0, "per_member_limit": 1, "claimable": True, "active": True,
                            "sku_ids": [], **terms})
    session.add(row)
    session.flush()
    return row


def coupon_for(session, net: Net, consumer, tmpl: CouponTemplate, *, days: int = 30, seq: int = 1) -> Coupon:
    use_scope(session, system_scope(net.tenant.id))
    now = utcnow()
    row = Coupon(tenant_id=net.tenant.id, id=uuid7(), owner_path=consumer.owner_path, template_id=tmpl.id,
                 consumer_id=consumer.id, seq=seq, status=CouponStatus.available,
                 valid_from=now - timedelta(minutes=1), valid_to=now + timedelta(days=days))
    session.add(row)
    session.flush()
    return row


def mall_item(session, net: Net, sku, *, points_price: int = 500, cash_minor: int = 990,
              stock: int = 5) -> MallItem:
    use_scope(session, system_scope(net.tenant.id))
    item = MallItem(tenant_id=net.tenant.id, id=uuid7(), owner_path=net.org("brand").path, sku_id=sku.id,
                    name="Gift tin", points_price=points_price, cash_minor=cash_minor, stock=stock,
                    redeemed=0, active=True)
    session.add(item)
    session.flush()
    return item
