"""Races on PostgreSQL with committed data and parallel app-role connections: two touches of one
customer at once, and the payment's accrual racing refund reversals and their replays."""

from collections import defaultdict

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.distribution import accrual, bindings, plans, promoters, rules
from app.distribution.models import Binding, BindingSource, CommissionSnapshot, DistributionEntry
from app.orders import aftersales
from app.orders.models import Order, RefundKind
from app.orders.payment_hooks import mark_refund_executed
from app.orders.queries import lines_of
from app.tenancy.scope import system_scope
from tests import database
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog
from tests.support.committed import app_role_engine, delete_tenant
from tests.support.money import parallel
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres


@pytest.fixture
def committed():
    """A committed tenant: two promoters, a bound buyer, a plan, an order paid with a refund executed."""
    from sqlalchemy import create_engine  # noqa: PLC0415
    from sqlalchemy.pool import NullPool  # noqa: PLC0415

    admin_url, _, _ = database.test_urls()
    with Session(create_engine(admin_url, poolclass=NullPool)) as admin:
        net = make_tenant(admin, settings={"distribution": {"promoter_mode": "open",
                                                            "attribution": "last_touch"}})
        catalog = stocked_catalog(admin, net, price=10_000)
        sharers = [promoters.apply(admin, consumer_scope_of(admin, add_consumer(admin, net, "jingan")))
                   for _ in range(2)]
        buyer = add_consumer(admin, net, "jingan")
        bindings.bind(admin, consumer_scope_of(admin, buyer), code=sharers[0].code,
                      source=BindingSource.qr_code)
        plans.create_plan(admin, scope_of(admin, net, "brand"), name="p", rules=[
            {"role": "promoter_l1", "rate_bp": 1000}, {"role": "home_store", "rate_bp": 333},
            {"role": "distributor", "org_id": net.org("shanghai").id, "rate_bp": 700}])
        order = retail_order(admin, consumer_scope_of(admin, buyer), catalog, 3, 2).order
        pay(admin, order)
        first = lines_of(admin, order)[0]
        refund = aftersales.request_refund(
            admin, scope=consumer_scope_of(admin, buyer), order_id=order.id, kind=RefundKind.refund_only,
            lines=[{"line_id": first.id, "qty": 1}], amount_minor=7_777, reason="x")
        aftersales.approve_refund(admin, scope=scope_of(admin, net, "jingan"), refund_id=refund.id)
        use_scope(admin, system_scope(net.tenant.id))
        mark_refund_executed(admin, tenant_id=net.tenant.id, refund_id=refund.id, gateway_ref="re_race")
        admin.commit()
        world = {"tenant_id": net.tenant.id, "buyer": buyer.id, "codes": [s.code for s in sharers],
                 "order_id": order.id, "refund_id": refund.id}
    try:
        yield world
    finally:
        delete_tenant(world["tenant_id"])


def _session(factory, scope) -> Session:
    session = factory()
    use_scope(session, scope)
    return session


def test_touches_of_one_customer_at_once_leave_exactly_one_open_binding(committed):
    factory = sessionmaker(bind=app_role_engine(), expire_on_commit=False)
    tenant_id, buyer = committed["tenant_id"], committed["buyer"]
    from app.tenancy.resolve import consumer_scope  # noqa: PLC0415

    def touch(i: int) -> str:
        with _session(factory, consumer_scope(tenant_id, buyer)) as session:
            bound = bindings.bind(session, consumer_scope(tenant_id, buyer), code=committed["codes"][i % 2],
                                  source=BindingSource.share_link)
            session.commit()
            return "changed" if bound.changed else "kept"

    outcomes = parallel(6, touch)
    assert set(outcomes) <= {"changed", "kept"}
    with _session(factory, system_scope(tenant_id)) as session:
        open_rows = session.scalar(select(func.count()).select_from(Binding).where(
            Binding.tenant_id == tenant_id, Binding.consumer_id == buyer, Binding.ended_reason.is_(None)))
        history = session.scalar(select(func.count()).select_from(Binding).where(
            Binding.tenant_id == tenant_id, Binding.consumer_id == buyer))
    assert open_rows == 1 and history == 1 + outcomes["changed"]


def test_accrual_racing_refund_reversals_and_replays_nets_exactly_the_kept_shares(committed):
    factory = sessionmaker(bind=app_role_engine(), expire_on_commit=False)
    tenant_id, order_id, refund_id = committed["tenant_id"], committed["order_id"], committed["refund_id"]

    def work(i: int) -> str:
        with _session(factory, system_scope(tenant_id)) as session:
            if i % 2:
                accrual.accrue_paid_order(session, tenant_id=tenant_id, order_id=order_id)
            else:
                accrual.reverse_refund(session, tenant_id=tenant_id, order_id=order_id, refund_id=refund_id)
            session.commit()
            return "ok"

    assert parallel(6, work) == {"ok": 6}
    with _session(factory, system_scope(tenant_id)) as session:
        held = defaultdict(int)
        for entry in session.scalars(select(DistributionEntry).where(
                DistributionEntry.tenant_id == tenant_id, DistributionEntry.order_id == order_id)):
            held[(entry.order_line_id, entry.beneficiary_id, entry.role)] += entry.amount_minor
        snapshots = session.scalars(select(CommissionSnapshot).where(
            CommissionSnapshot.tenant_id == tenant_id, CommissionSnapshot.order_id == order_id)
            .order_by(CommissionSnapshot.order_line_id, CommissionSnapshot.role, CommissionSnapshot.id)).all()
        refunded = {line.id: line.refunded_minor
                    for line in lines_of(session, session.get(Order, (tenant_id, order_id)))}
    by_line = defaultdict(list)
    for snap in snapshots:
        by_line[snap.order_line_id].append(snap)
    assert any(refunded.values())
    for line_id, group in by_line.items():
        base = group[0].base_minor
        shares = rules.kept_shares([s.amount_minor for s in group], base, base - refunded[line_id])
        assert [held[(line_id, s.beneficiary_id, s.role)] for s in group] == shares
