"""Store takings (分账): what the brand owes a store for its retail sales, on the ledger and in the books."""

import pytest
from sqlalchemy import func, select

from app.distribution import handlers as commission_handlers
from app.distribution import settlement_handlers
from app.distribution.models import DistributionEntry, EntryKind, EntryRole
from app.distribution.settlement_rules import SettlementSettings, gateway_fee_share
from app.distribution.takings import BORNE_ROLES
from app.finance.handlers import EVENT_HANDLERS as FINANCE_HANDLERS
from app.finance.journal import trial_balance
from app.finance.models import JournalLine, LedgerAccount
from app.orders.payment_hooks import mark_paid
from app.platform.models import OutboxEvent
from app.tenancy.scope import system_scope
from tests.factories import consumer_scope_of
from tests.integration import test_distribution_commissions as commissions
from tests.integration.test_orders_fixtures import pay, retail_order
from tests.support.scope import use_scope


@pytest.fixture
def world(session):
    """The commissions tests' world: buyer → promoter A → promoter C at jingan, a plan for every role."""
    return commissions.world.__wrapped__(session)


def relay(session, net, order, type_):
    """Finance, commissions and settlement handlers for the order's events of this type, in wiring order."""
    use_scope(session, system_scope(net.tenant.id))
    events = session.scalars(select(OutboxEvent).where(
        OutboxEvent.tenant_id == net.tenant.id, OutboxEvent.subject_id == order.id,
        OutboxEvent.type == type_).order_by(OutboxEvent.created_at)).all()
    for event in events:
        for handlers in (FINANCE_HANDLERS, commission_handlers.EVENT_HANDLERS,
                         settlement_handlers.EVENT_HANDLERS):
            for handler in handlers.get(type_, []):
                handler(session, event)


def takings(session, net, order) -> dict:
    use_scope(session, system_scope(net.tenant.id))
    rows = session.execute(select(DistributionEntry.kind, func.sum(DistributionEntry.amount_minor)).where(
        DistributionEntry.tenant_id == net.tenant.id, DistributionEntry.order_id == order.id,
        DistributionEntry.role == EntryRole.store_takings).group_by(DistributionEntry.kind)).all()
    return {kind: int(total) for kind, total in rows}


def borne(session, net, order) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(DistributionEntry.amount_minor), 0)).where(
        DistributionEntry.tenant_id == net.tenant.id, DistributionEntry.order_id == order.id,
        DistributionEntry.kind == EntryKind.commission, DistributionEntry.role.in_(BORNE_ROLES))))


def org_books(session, net, key) -> int:
    """The sum of every journal line on one org's accounts: zero when its own books balance."""
    use_scope(session, system_scope(net.tenant.id))
    return int(session.scalar(select(func.coalesce(func.sum(JournalLine.amount_minor), 0))
                              .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
                              .where(JournalLine.tenant_id == net.tenant.id,
                                     LedgerAccount.org_id == net.org(key).id)))


def paid_store_order(session, world, *qtys):
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, *qtys).order
    pay_by_gateway(session, order)
    relay(session, net, order, "order.paid")
    return order


def pay_by_gateway(session, order):
    """Paid into the brand's merchant account (what the Stripe webhook leads to)."""
    use_scope(session, system_scope(order.tenant_id))
    return mark_paid(session, tenant_id=order.tenant_id, order_id=order.id, amount_minor=order.total_minor,
                     payment_ref=f"pi_{order.id.hex[:12]}", method="stripe")


def test_a_paid_store_sale_records_takings_less_fee_and_borne_commissions(session, world):
    net = world[0]
    order = paid_store_order(session, world, 2, 1)
    fee = gateway_fee_share(order.total_minor, SettlementSettings())
    bears = borne(session, net, order)
    assert bears > 0  # the buyer's promoters (L1, L2) earn on it
    assert takings(session, net, order) == {EntryKind.takings: order.total_minor, EntryKind.fee: -fee,
                                            EntryKind.adjustment: -bears}


def test_the_stores_own_books_no_longer_go_negative_and_the_journal_balances(session, world):
    net = world[0]
    paid_store_order(session, world, 1, 1)
    assert org_books(session, net, "jingan") == 0
    assert trial_balance(session, net.tenant.id) == 0


def test_a_replayed_event_writes_and_posts_nothing_more(session, world):
    net = world[0]
    order = paid_store_order(session, world, 1)
    before = takings(session, net, order)
    relay(session, net, order, "order.paid")
    relay(session, net, order, "order.paid")
    assert takings(session, net, order) == before
    assert org_books(session, net, "jingan") == 0


def test_a_refund_takes_the_takings_back_and_the_store_bears_only_the_kept_commissions(session, world):
    net, _, buyer, *_ = world
    order = paid_store_order(session, world, 2, 2)
    commissions.refund(session, net, buyer, order, [1, 0])
    relay(session, net, order, "order.refunded")
    relay(session, net, order, "order.refunded")  # replayed
    got = takings(session, net, order)
    refunded = order.refunded_minor
    assert refunded > 0
    assert got[EntryKind.takings] == order.total_minor - refunded
    assert got[EntryKind.adjustment] == -borne(session, net, order)  # follows the reversed commissions
    assert org_books(session, net, "jingan") == 0 and trial_balance(session, net.tenant.id) == 0


def test_an_order_the_brand_sells_records_no_takings(session, world):
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 1).order
    use_scope(session, system_scope(net.tenant.id))
    order.seller_org_id = net.org("brand").id  # as if the brand itself sold and shipped it
    session.flush()
    pay_by_gateway(session, order)
    relay(session, net, order, "order.paid")
    assert takings(session, net, order) == {}


def test_a_sale_paid_at_the_store_records_no_takings_the_money_is_already_the_stores(session, world):
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 1).order
    pay(session, order)  # offline: booked on the store's own cash
    relay(session, net, order, "order.paid")
    assert takings(session, net, order) == {}
    assert org_books(session, net, "jingan") == 0
