"""Property tests on PostgreSQL: any sequence of partial refunds nets every beneficiary to exactly
their share of what was kept, whenever the payment's accrual runs and however often events replay."""

from collections import defaultdict

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.distribution import rules
from app.distribution.models import CommissionSnapshot, EntryStatus
from app.finance.journal import trial_balance
from app.orders.queries import lines_of
from app.tenancy.scope import system_scope
from tests.factories import consumer_scope_of
from tests.integration.test_distribution_commissions import entries, refund, relay_handlers, world  # noqa: F401
from tests.integration.test_orders_fixtures import pay, retail_order
from tests.support.scope import use_scope

refund_steps = st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3), st.integers(1, 100)), max_size=4)


@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(qtys=st.tuples(st.integers(1, 4), st.integers(1, 4)), steps=refund_steps,
       accrue_late=st.booleans(), replay=st.booleans())
def test_any_sequence_of_partial_refunds_nets_every_beneficiary_to_their_share_of_what_was_kept(
        session, world, qtys, steps, accrue_late, replay):  # noqa: F811
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, *qtys).order
    pay(session, order)
    if not accrue_late:
        relay_handlers(session, net, order, "order.paid")
    for line_index, qty, percent in steps:
        line = lines_of(session, order)[line_index]
        left = line.qty - line.claimed_qty
        if left <= 0:
            continue
        take = min(qty, left)
        amount = max(1, line.total_minor // line.qty * take * percent // 100)
        wanted = [0, 0]
        wanted[line_index] = take
        refund(session, net, buyer, order, tuple(wanted), amount=amount)
        relay_handlers(session, net, order, "order.refunded")
        if replay:
            relay_handlers(session, net, order, "order.paid")
    relay_handlers(session, net, order, "order.paid")
    relay_handlers(session, net, order, "order.refunded")

    use_scope(session, system_scope(net.tenant.id))
    snapshots = session.scalars(select(CommissionSnapshot).where(
        CommissionSnapshot.tenant_id == net.tenant.id, CommissionSnapshot.order_id == order.id)
        .order_by(CommissionSnapshot.order_line_id, CommissionSnapshot.role, CommissionSnapshot.id)).all()
    refunded = {line.id: line.refunded_minor for line in lines_of(session, order)}
    held = defaultdict(int)
    for entry in entries(session, net, order):
        held[(entry.order_line_id, entry.beneficiary_id, entry.role)] += entry.amount_minor
        assert entry.status in (EntryStatus.frozen, EntryStatus.reversed)
    by_line = defaultdict(list)
    for snap in snapshots:
        by_line[snap.order_line_id].append(snap)
    for line_id, group in by_line.items():
        base = group[0].base_minor
        shares = rules.kept_shares([s.amount_minor for s in group], base, base - refunded[line_id])
        for snap, share in zip(group, shares, strict=True):
            assert held[(line_id, snap.beneficiary_id, snap.role)] == share
    assert trial_balance(session, net.tenant.id) == 0
