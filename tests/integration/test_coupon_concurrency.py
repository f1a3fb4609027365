"""Coupons under real concurrency: parallel checkouts with one coupon, parallel claims of a template.

Each thread has its own app-role connection (RLS on) and commits for real.
"""

import pytest
from sqlalchemy import func, select

from app.membership import coupons
from app.membership.coupon_models import Coupon, CouponStatus, CouponTemplate
from app.orders.models import Order
from app.tenancy.models import Consumer
from tests import database
from tests.integration.test_orders_fixtures import retail_order
from tests.support.money import money_world, parallel
from tests.support.offers import coupon_for, program_with_gold, template

pytestmark = pytest.mark.postgres
N = 8


@pytest.fixture
def world(app):
    with money_world(consumers=N) as built:
        yield built


def test_parallel_checkouts_with_one_coupon_make_one_order_with_it(world):
    consumer_scope = world.consumers[0]
    with database.admin_session() as admin:
        program_with_gold(admin, world.net)
        consumer = admin.get(Consumer, (world.tenant_id, consumer_scope.consumer_id))
        tmpl = template(admin, world.net, amount_off_minor=100)
        coupon_id = coupon_for(admin, world.net, consumer, tmpl).id
        admin.commit()

    def checkout(i: int) -> str:
        with world.session(consumer_scope) as session:
            retail_order(session, consumer_scope, world.catalog, 1, coupon_id=coupon_id, key=f"coupon-{i}")
            session.commit()
            return "placed"

    outcomes = parallel(N, checkout)
    assert outcomes == {"placed": 1, "coupon_unavailable": N - 1}
    with world.system() as session:
        used = session.get(Coupon, (world.tenant_id, coupon_id))
        assert used.status is CouponStatus.used
        orders = session.scalars(select(Order).where(Order.tenant_id == world.tenant_id)).all()
        assert [order.id for order in orders] == [used.order_id] and orders[0].discount_minor == 100


def test_parallel_claims_never_pass_the_total_quantity_or_the_per_member_limit(world):
    with database.admin_session() as admin:
        template_id = template(admin, world.net, total_quantity=3, per_member_limit=1).id
        admin.commit()

    def claim(i: int) -> str:  # two claims per consumer, all at once
        scope = world.consumers[i % N]
        with world.session(scope) as session:
            coupons.claim(session, scope, template_id=template_id)
            session.commit()
            return "claimed"

    outcomes = parallel(2 * N, claim)
    assert outcomes["claimed"] == 3
    assert set(outcomes) <= {"claimed", "coupon_sold_out", "coupon_limit_reached"}
    with world.system() as session:
        held = session.execute(select(Coupon.consumer_id, func.count()).where(
            Coupon.tenant_id == world.tenant_id, Coupon.template_id == template_id)
            .group_by(Coupon.consumer_id)).all()
        assert sum(count for _, count in held) == 3 and all(count == 1 for _, count in held)
        assert session.get(CouponTemplate, (world.tenant_id, template_id)).issued_count == 3
