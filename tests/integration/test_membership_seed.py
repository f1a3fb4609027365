"""The demo membership: a program, three levels with members in each, points, orders that earn."""

from collections import Counter

from sqlalchemy import select

from app.demo.catalog import seed_catalog
from app.demo.membership import seed_membership
from app.demo.orders import seed_orders
from app.finance.journal import trial_balance
from app.membership.models import Member, MemberLevel, PointsLot
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, make_tenant, scope_of
from tests.support.scope import use_scope


def test_the_demo_has_members_in_every_level_with_points_and_orders_earn(session):
    net = make_tenant(session)
    for store in ("jingan", "jingan", "hangzhou", "chengdu", "chengdu", "hangzhou"):
        add_consumer(session, net, store)
    seed_catalog(session, net.tenant, net.orgs)
    seed_membership(session, net.tenant, scope_of(session, net, "brand"))
    seed_orders(session, net.tenant, net.orgs)
    use_scope(session, system_scope(net.tenant.id))
    levels = {level.id: level.code for level in session.scalars(
        select(MemberLevel).where(MemberLevel.tenant_id == net.tenant.id))}
    members = session.scalars(select(Member).where(Member.tenant_id == net.tenant.id)).all()
    assert set(Counter(levels[m.level_id] for m in members)) == {"silver", "gold", "platinum"}
    assert sum(m.points_available for m in members) > 0
    earned = session.scalars(select(PointsLot).where(PointsLot.tenant_id == net.tenant.id,
                                                     PointsLot.order_id.is_not(None))).all()
    assert earned, "the demo's paid orders earn points"
    assert trial_balance(session, net.tenant.id) == 0
