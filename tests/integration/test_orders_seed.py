"""The demo orders cover every order and refund state, over the demo catalog."""

from sqlalchemy import select

from app.demo.catalog import seed_catalog
from app.demo.orders import seed_orders
from app.orders.models import Order, OrderStatus, Refund, RefundStatus
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, make_tenant
from tests.support.scope import use_scope


def test_the_demo_has_orders_in_every_state_and_refunds_in_every_state(session):
    net = make_tenant(session)
    add_consumer(session, net, "jingan")
    seed_catalog(session, net.tenant, net.orgs)
    orders = seed_orders(session, net.tenant, net.orgs)
    use_scope(session, system_scope(net.tenant.id))
    statuses = set(session.scalars(select(Order.status).where(Order.tenant_id == net.tenant.id)))
    refunds = set(session.scalars(select(Refund.status).where(Refund.tenant_id == net.tenant.id)))
    assert statuses == set(OrderStatus)
    assert refunds == set(RefundStatus)
    assert {order.flow.value for order in orders} == {"retail", "replenish", "purchase"}
