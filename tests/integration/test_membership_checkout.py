"""The waterfall at placement: adjustments stored with their sources, the contract with distribution
(line total = goods paid after every discount), coupon use, and what cancel and refunds give back."""

import pytest
from sqlalchemy import select

from app.membership.checkout_errors import CouponUnavailable, MallItemSoldOut, PointsOverLimit
from app.membership.checkout_handlers import give_back_on_cancel, give_back_on_refund, settle_nothing_due
from app.membership.checkout_models import MallItem, OrderAdjustment
from app.membership.coupon_models import Coupon, CouponStatus
from app.membership.mall import redeem
from app.membership.models import Member
from app.orders import aftersales, fulfilment
from app.orders.models import Order, OrderLine, OrderStatus, RefundKind
from app.orders.payment_hooks import mark_refund_executed
from app.orders.queries import lines_of
from app.platform.models import OutboxEvent
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog
from tests.support.offers import coupon_for, gold_member, mall_item, program_with_gold, template
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(session):
    net = make_tenant(session, settings={"orders": {"shipping_flat_minor": 800}})
    catalog = stocked_catalog(session, net, skus=3, price=10_000)
    program_with_gold(session, net, discount_bp=1000)
    consumer = add_consumer(session, net, "jingan")
    gold_member(session, net, consumer, points=5_000)
    return net, catalog, consumer


def _system(session, net):
    use_scope(session, system_scope(net.tenant.id))


def _adjustments(session, net, order):
    _system(session, net)
    return {row.step.value: row for row in session.scalars(select(OrderAdjustment).where(
        OrderAdjustment.tenant_id == net.tenant.id, OrderAdjustment.order_id == order.id))}


def _points(session, net, consumer) -> int:
    _system(session, net)
    return session.scalars(select(Member.points_available).where(
        Member.tenant_id == net.tenant.id, Member.consumer_id == consumer.id)
        .execution_options(populate_existing=True)).one()


def _status(session, net, coupon) -> CouponStatus:
    _system(session, net)
    return session.get(Coupon, (net.tenant.id, coupon.id), populate_existing=True).status


def _event(session, net, order, type_):
    _system(session, net)
    return session.scalars(select(OutboxEvent).where(
        OutboxEvent.tenant_id == net.tenant.id, OutboxEvent.subject_id == order.id,
        OutboxEvent.type == type_).order_by(OutboxEvent.id.desc())).first()


def test_level_coupon_and_points_are_stored_per_line_and_line_totals_are_the_goods_paid(session, shop):
    net, catalog, consumer = shop
    coupon = coupon_for(session, net, consumer, template(session, net, amount_off_minor=3_000))
    scope = consumer_scope_of(session, consumer)
    order = retail_order(session, scope, catalog, 1, 2, coupon_id=coupon.id, points=2_000).order
    steps = _adjustments(session, net, order)
    assert {step: row.amount_minor for step, row in steps.items()} == {
        "level": 3_000, "coupon": 3_000, "points": 2_000}
    assert steps["coupon"].coupon_id == coupon.id and steps["level"].source["level"] == "gold"
    assert sum(points for _, points in steps["points"].source["takes"]) == 2_000
    lines = lines_of(session, order)
    for line in lines:
        shares = sum(part["amount_minor"] for row in steps.values() for part in row.lines
                     if part["line_id"] == str(line.id))
        assert line.discount_minor == shares and line.total_minor == line.goods_minor - shares
    assert order.discount_minor == 8_000 == sum(line.discount_minor for line in lines)
    assert order.total_minor == 30_000 - 8_000 + 800
    assert _status(session, net, coupon) is CouponStatus.used
    assert _points(session, net, consumer) == 3_000


def test_a_used_coupon_cannot_pay_a_second_order(session, shop):
    net, catalog, consumer = shop
    coupon = coupon_for(session, net, consumer, template(session, net))
    scope = consumer_scope_of(session, consumer)
    retail_order(session, scope, catalog, 1, coupon_id=coupon.id)
    with pytest.raises(CouponUnavailable):
        retail_order(session, consumer_scope_of(session, consumer), catalog, 1, coupon_id=coupon.id)


def test_another_members_coupon_is_refused(session, shop):
    net, catalog, consumer = shop
    other = add_consumer(session, net, "jingan")
    coupon = coupon_for(session, net, other, template(session, net))
    with pytest.raises(CouponUnavailable):
        retail_order(session, consumer_scope_of(session, consumer), catalog, 1, coupon_id=coupon.id)


def test_points_beyond_the_share_are_refused_before_anything_is_written(session, shop):
    net, catalog, consumer = shop
    with pytest.raises(PointsOverLimit):  # 50 % of 10,000 fen, less the 10 % level discount first
        retail_order(session, consumer_scope_of(session, consumer), catalog, 1, points=5_001)
    assert _points(session, net, consumer) == 5_000


def test_cancel_gives_back_the_coupon_and_every_point_once(session, shop):
    net, catalog, consumer = shop
    coupon = coupon_for(session, net, consumer, template(session, net))
    scope = consumer_scope_of(session, consumer)
    order = retail_order(session, scope, catalog, 2, coupon_id=coupon.id, points=1_500).order
    fulfilment.cancel(session, consumer_scope_of(session, consumer), order_id=order.id)
    event = _event(session, net, order, "order.cancelled")
    give_back_on_cancel(session, event)
    give_back_on_cancel(session, event)  # replayed: nothing more
    assert _status(session, net, coupon) is CouponStatus.available
    assert _points(session, net, consumer) == 5_000


def test_partial_refunds_in_any_split_give_back_exactly_the_lines_points_and_the_coupon_at_the_end(
        session, shop):
    net, catalog, consumer = shop
    coupon = coupon_for(session, net, consumer, template(session, net))
    order = retail_order(session, consumer_scope_of(session, consumer), catalog, 3, 1,
                         coupon_id=coupon.id, points=3_001).order
    pay(session, order)
    first, second = lines_of(session, order)
    for wanted in ([(first, 1)], [(first, 2), (second, 1)]):
        refund = aftersales.request_refund(session, consumer_scope_of(session, consumer), order_id=order.id,
                                           kind=RefundKind.refund_only,
                                           lines=[{"line_id": line.id, "qty": qty} for line, qty in wanted])
        aftersales.approve_refund(session, scope=scope_of(session, net, "jingan"), refund_id=refund.id)
        _system(session, net)
        mark_refund_executed(session, tenant_id=net.tenant.id, refund_id=refund.id,
                             gateway_ref=f"re_{refund.id}")
        event = _event(session, net, order, "order.refunded")
        give_back_on_refund(session, event)
        give_back_on_refund(session, event)
        if wanted[0][1] == 1:  # a third of line 1's share so far; the coupon is still used
            share = next(p["points"] for p in _adjustments(session, net, order)["points"].lines
                         if p["line_id"] == str(first.id))
            assert _points(session, net, consumer) == 5_000 - 3_001 + share // 3
            assert _status(session, net, coupon) is CouponStatus.used
    assert _points(session, net, consumer) == 5_000
    _system(session, net)
    assert _status(session, net, coupon) is CouponStatus.available
    refunded = sum(line.refunded_minor for line in session.scalars(select(OrderLine).where(
        OrderLine.tenant_id == net.tenant.id, OrderLine.order_id == order.id)
        .execution_options(populate_existing=True)))
    assert refunded == order.total_minor - order.shipping_minor


def test_a_mall_redemption_is_a_retail_order_paid_in_points_but_the_cash_with_its_own_stock(session, shop):
    net, catalog, consumer = shop
    item = mall_item(session, net, catalog.skus[0], points_price=2_000, cash_minor=990, stock=1)
    placed = redeem(session, consumer_scope_of(session, consumer), item_id=item.id, delivery="pickup")
    order = placed.order
    assert (order.goods_minor, order.discount_minor, order.total_minor) == (10_000, 9_010, 990)
    assert _adjustments(session, net, order)["points_mall"].points == 2_000
    assert _points(session, net, consumer) == 3_000
    with pytest.raises(MallItemSoldOut):
        redeem(session, consumer_scope_of(session, consumer), item_id=item.id, delivery="pickup")
    fulfilment.cancel(session, consumer_scope_of(session, consumer), order_id=order.id)
    give_back_on_cancel(session, _event(session, net, order, "order.cancelled"))
    assert session.get(MallItem, (net.tenant.id, item.id), populate_existing=True).redeemed == 0
    assert _points(session, net, consumer) == 5_000


def test_a_mall_order_with_nothing_left_to_pay_is_paid_as_placed(session, shop):
    net, catalog, consumer = shop
    item = mall_item(session, net, catalog.skus[1], points_price=1_000, cash_minor=0)
    order = redeem(session, consumer_scope_of(session, consumer), item_id=item.id, delivery="pickup").order
    assert order.total_minor == 0
    settle_nothing_due(session, _event(session, net, order, "order.placed"))
    settle_nothing_due(session, _event(session, net, order, "order.placed"))
    _system(session, net)
    assert session.get(Order, (net.tenant.id, order.id), populate_existing=True).status is OrderStatus.paid


def test_supply_orders_pay_the_tier_price_untouched(session, shop):
    net, catalog, _ = shop
    from tests.integration.test_orders_fixtures import supply_order

    order = supply_order(session, scope_of(session, net, "jingan"), catalog, 2).order
    assert order.discount_minor == 0 and _adjustments(session, net, order) == {}
