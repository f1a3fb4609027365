"""Parallel checkouts spending one member's points, through placement's one-statement writes
(app/membership/checkout_writes.py): every thread plans the same lots from its read, the conditional
takes decide, and the losers complete step by step or are refused. App-role connections, committed.
"""

import pytest
from sqlalchemy import func, select

from app.membership.checkout_models import OrderAdjustment
from app.membership.models import Member, PointsLot, PointsMove
from app.orders.models import Order
from app.tenancy.models import Consumer
from tests import database
from tests.integration.test_orders_fixtures import retail_order
from tests.support.membership import member_with_lots, soon
from tests.support.money import money_world, parallel
from tests.support.offers import program_with_gold

pytestmark = [pytest.mark.postgres, pytest.mark.many_connections]
THREADS = 10
EACH = 30  # over several 10-point lots: 10 × 30 > 100, so 3 orders are placed and 7 refused


@pytest.fixture
def world(app):
    with money_world(consumers=1) as built:
        yield built


def test_parallel_checkouts_never_take_a_point_twice_and_the_ledger_adds_up(world):
    scope = world.consumers[0]
    with database.admin_session() as admin:
        program_with_gold(admin, world.net)
        consumer = admin.get(Consumer, (world.tenant_id, scope.consumer_id))
        member_with_lots(admin, world.net, consumer, *[(10, soon(n + 1)) for n in range(10)])
        admin.commit()

    def checkout(i: int) -> str:
        with world.session(scope) as session:
            retail_order(session, scope, world.catalog, 1, points=EACH, key=f"points-{i}")
            session.commit()
            return "placed"

    outcomes = parallel(THREADS, checkout)
    assert outcomes == {"placed": 100 // EACH, "insufficient_points": THREADS - 100 // EACH}
    with world.system() as session:
        tenant = world.tenant_id
        member = session.scalars(select(Member).where(Member.tenant_id == tenant)).one()
        lots = session.scalars(select(PointsLot).where(PointsLot.tenant_id == tenant)).all()
        orders = session.scalars(select(Order.id).where(Order.tenant_id == tenant)).all()
        spent = session.execute(select(PointsMove.order_id, func.sum(PointsMove.points)).where(
            PointsMove.tenant_id == tenant, PointsMove.kind == "spend").group_by(PointsMove.order_id)).all()
        takes = session.scalars(select(OrderAdjustment.source).where(
            OrderAdjustment.tenant_id == tenant, OrderAdjustment.step == "points")).all()
    assert all(lot.remaining >= 0 for lot in lots)
    assert member.points_available == 100 - len(orders) * EACH == sum(lot.remaining for lot in lots)
    assert sorted(spent) == sorted((order_id, -EACH) for order_id in orders)
    assert sorted(sum(n for _, n in source["takes"]) for source in takes) == [EACH] * len(orders)
