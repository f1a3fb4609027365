"""Commissions on PostgreSQL: snapshot at placement, frozen at payment, freeze clock, refunds, replays."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.distribution import accrual, bindings, handlers, plans, promoters
from app.distribution.models import (
    BindingSource,
    CommissionSnapshot,
    DistributionEntry,
    EntryRole,
    EntryStatus,
)
from app.finance.journal import trial_balance
from app.finance.models import AccountCode, JournalLine, LedgerAccount
from app.orders import aftersales
from app.orders.models import RefundKind
from app.orders.payment_hooks import mark_refund_executed
from app.orders.queries import lines_of
from app.platform.models import OutboxEvent
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import pay, retail_order, stocked_catalog
from tests.support.scope import use_scope

PRICE = 10_000
SETTINGS = {"distribution": {"promoter_mode": "open", "attribution": "last_touch", "freeze_days": 7}}


def promoter_of(session, consumer):
    return promoters.apply(session, consumer_scope_of(session, consumer))


def bind(session, consumer, promoter):
    return bindings.bind(session, consumer_scope_of(session, consumer), code=promoter.code,
                         source=BindingSource.share_link)


@pytest.fixture
def world(session):
    """buyer → bound to A (promoter) → A bound to C (promoter); a plan for every role."""
    net = make_tenant(session, settings=SETTINGS)
    catalog = stocked_catalog(session, net, price=PRICE, on_hand=100_000)
    c_person, a_person = add_consumer(session, net, "jingan"), add_consumer(session, net, "jingan")
    buyer = add_consumer(session, net, "jingan")
    c_promoter = promoter_of(session, c_person)
    a_promoter = promoter_of(session, a_person)
    bind(session, a_person, c_promoter)
    bind(session, buyer, a_promoter)
    plans.create_plan(session, scope_of(session, net, "brand"), name="launch", rules=[
        {"role": "promoter_l1", "rate_bp": 1000},
        {"role": "promoter_l2", "rate_bp": 500},
        {"role": "home_store", "rate_bp": 300},
        {"role": "distributor", "org_id": net.org("shanghai").id, "rate_bp": 800},
        {"role": "distributor", "org_id": net.org("east").id, "rate_bp": 1200},
        {"role": "promoter_l1", "sku_id": catalog.sku_ids[1], "fixed_minor": 150},
    ])
    return net, catalog, buyer, a_promoter, c_promoter


def entries(session, net, order=None):
    use_scope(session, system_scope(net.tenant.id))
    statement = select(DistributionEntry).where(DistributionEntry.tenant_id == net.tenant.id)
    if order is not None:
        statement = statement.where(DistributionEntry.order_id == order.id)
    return list(session.scalars(statement.execution_options(populate_existing=True)))


def net_by(rows, *, role=None, line_id=None):
    return sum(e.amount_minor for e in rows if (role is None or e.role is role)
               and (line_id is None or e.order_line_id == line_id))


def relay_handlers(session, net, order, type_):
    """Run distribution's handlers for every event of this type on the order (as the relay would)."""
    use_scope(session, system_scope(net.tenant.id))
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == net.tenant.id,
                                                       OutboxEvent.subject_id == order.id,
                                                       OutboxEvent.type == type_)).all()
    for event in events:
        for handler in handlers.EVENT_HANDLERS[type_]:
            handler(session, event)
    return events


def refund(session, net, consumer, order, qtys, amount=None):
    order_lines = lines_of(session, order)
    wanted = [{"line_id": line.id, "qty": q} for line, q in zip(order_lines, qtys, strict=False) if q]
    made = aftersales.request_refund(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                     kind=RefundKind.refund_only, lines=wanted, amount_minor=amount,
                                     reason="changed mind")
    aftersales.approve_refund(session, scope=scope_of(session, net, "jingan"), refund_id=made.id)
    use_scope(session, system_scope(net.tenant.id))
    mark_refund_executed(session, tenant_id=net.tenant.id, refund_id=made.id,
                         gateway_ref=f"re_{made.id.hex[:8]}")
    return made


def test_placement_snapshots_chain_rates_and_base_with_differential_and_sku_precedence(session, world):
    net, catalog, buyer, a_promoter, c_promoter = world
    placed = retail_order(session, consumer_scope_of(session, buyer), catalog, 2, 3)
    use_scope(session, system_scope(net.tenant.id))
    rows = session.scalars(select(CommissionSnapshot).where(
        CommissionSnapshot.tenant_id == net.tenant.id, CommissionSnapshot.order_id == placed.order.id)).all()
    line1, line2 = placed.lines
    got = {(r.order_line_id, r.role.value, r.beneficiary_id): r.amount_minor for r in rows}
    assert got == {
        (line1.id, "promoter_l1", a_person_id(a_promoter)): 2000,  # 10% of 20000
        (line1.id, "promoter_l2", c_promoter.consumer_id): 1000,
        (line1.id, "home_store", net.org("jingan").id): 600,
        (line1.id, "distributor", net.org("shanghai").id): 1600,  # 8%
        (line1.id, "distributor", net.org("east").id): 800,  # 12% - 8% (级差)
        (line2.id, "promoter_l1", a_person_id(a_promoter)): 450,  # fixed 150 × 3: the SKU rule wins
        (line2.id, "promoter_l2", c_promoter.consumer_id): 1500,
        (line2.id, "home_store", net.org("jingan").id): 900,
        (line2.id, "distributor", net.org("shanghai").id): 2400,
        (line2.id, "distributor", net.org("east").id): 1200,
    }
    assert {r.base_minor for r in rows if r.order_line_id == line1.id} == {line1.total_minor}


def a_person_id(promoter):
    return promoter.consumer_id


def test_payment_accrues_frozen_entries_and_posts_commission_expense_against_payable(session, world):
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 2).order
    pay(session, order)
    relay_handlers(session, net, order, "order.paid")
    rows = entries(session, net, order)
    assert {e.status for e in rows} == {EntryStatus.frozen} and net_by(rows) == 6000
    assert all(e.available_at is None for e in rows)
    on_account = ((LedgerAccount.tenant_id == JournalLine.tenant_id)
                  & (LedgerAccount.id == JournalLine.account_id))
    expense = session.scalar(select(func.sum(JournalLine.amount_minor)).join(LedgerAccount, on_account)
        .where(JournalLine.tenant_id == net.tenant.id, LedgerAccount.code == AccountCode.commission_expense))
    assert expense == 6000 and trial_balance(session, net.tenant.id) == 0


def test_replaying_every_order_event_twice_changes_nothing(session, world):
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 2, 1).order
    pay(session, order)
    refund(session, net, buyer, order, (1, 0))
    for _ in range(2):
        for type_ in ("order.paid", "order.refunded", "order.completed"):
            relay_handlers(session, net, order, type_)
        first = sorted((e.source_key, e.amount_minor, e.status) for e in entries(session, net, order))
        journal = session.scalar(select(func.count()).select_from(JournalLine).where(
            JournalLine.tenant_id == net.tenant.id))
        if _ == 0:
            snapshot = (first, journal)
    assert (first, journal) == snapshot


def test_a_partial_refund_reverses_pro_rata_and_a_full_refund_retires_the_entries(session, world):
    net, catalog, buyer, a_promoter, _ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 4).order
    pay(session, order)
    relay_handlers(session, net, order, "order.paid")
    refund(session, net, buyer, order, (1,))
    relay_handlers(session, net, order, "order.refunded")
    rows = entries(session, net, order)
    assert net_by(rows, role=EntryRole.promoter_l1) == 3000  # 10% of the 30000 kept
    assert {e.status for e in rows} == {EntryStatus.frozen}
    refund(session, net, buyer, order, (3,))
    relay_handlers(session, net, order, "order.refunded")
    rows = entries(session, net, order)
    assert net_by(rows) == 0 and {e.status for e in rows} == {EntryStatus.reversed}
    assert trial_balance(session, net.tenant.id) == 0


def test_completion_starts_the_freeze_clock_and_the_release_moves_only_due_entries(session, world):
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 1).order
    pay(session, order)
    relay_handlers(session, net, order, "order.paid")
    use_scope(session, system_scope(net.tenant.id))
    order.completed_at = utcnow() - timedelta(days=8)
    session.flush()
    assert accrual.start_freeze_clock(session, tenant_id=net.tenant.id, order_id=order.id) == 5
    assert accrual.release_due(session, tenant_id=net.tenant.id, now=utcnow() - timedelta(days=2)) == 0
    assert accrual.release_due(session, tenant_id=net.tenant.id, batch=2) == 5
    assert {e.status for e in entries(session, net, order)} == {EntryStatus.available}


def test_a_refund_after_settlement_is_a_negative_available_entry_never_clamped(session, world):
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 2).order
    pay(session, order)
    relay_handlers(session, net, order, "order.paid")
    use_scope(session, system_scope(net.tenant.id))
    for entry in entries(session, net, order):
        entry.status = EntryStatus.settled  # what settlement does
    session.flush()
    refund(session, net, buyer, order, (2,))
    relay_handlers(session, net, order, "order.refunded")
    debts = [e for e in entries(session, net, order) if e.amount_minor < 0]
    assert sum(e.amount_minor for e in debts) == -6000
    assert {e.status for e in debts} == {EntryStatus.available}
    assert all(e.available_at is not None for e in debts)


def test_an_order_without_a_plan_or_binding_snapshots_nothing(session):
    net = make_tenant(session, settings=SETTINGS)
    catalog = stocked_catalog(session, net, price=PRICE)
    buyer = add_consumer(session, net, "jingan")
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 1).order
    use_scope(session, system_scope(net.tenant.id))
    assert session.scalar(select(func.count()).select_from(CommissionSnapshot).where(
        CommissionSnapshot.tenant_id == net.tenant.id, CommissionSnapshot.order_id == order.id)) == 0
