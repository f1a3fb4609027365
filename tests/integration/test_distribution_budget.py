"""A paid order's distribution handlers stay within their budget of SQL statements (issue 11's accrual).

Counted like the checkout's budget (bench/statements.py), around the two handlers of `order.paid`
that distribution wires: commissions (app/distribution/accrual.py) and the store's takings
(app/distribution/takings.py). The outbox adds one receipt per handler on top (not counted here).
"""

import pytest
from sqlalchemy import select

from app.distribution.handlers import accrue_commissions
from app.distribution.models import EntryKind
from app.distribution.takings import record_takings
from app.extensions import db
from app.finance.handlers import EVENT_HANDLERS as FINANCE_HANDLERS
from app.finance.journal import trial_balance
from app.orders.models import Order
from app.platform import outbox
from app.platform.models import OutboxEvent
from app.tenancy.scope import system_scope
from bench.statements import statements_sent, summary
from tests.factories import consumer_scope_of
from tests.integration import test_distribution_commissions as commissions
from tests.integration.test_orders_fixtures import retail_order
from tests.integration.test_store_takings import org_books, paid_store_order, pay_by_gateway, takings
from tests.support.scope import use_scope

# commissions: order lock (2), snapshots with lines, entries, journal entry, lines = 6;
# takings: order with its seller, what the entries stand at, entries, journal entry, lines = 5.
# Were 26 (28 with the receipts): accounts one SELECT each, the tenant, the brand, the order and
# orgs read again, three reads of the order's entries, four statements per journal posting.
PAID_ORDER_HANDLERS_BUDGET = 11


@pytest.fixture
def world(session):
    return commissions.world.__wrapped__(session)


def paid_event(session, world) -> OutboxEvent:
    """A store's retail order paid into the brand's account; its order.paid event, nothing handled yet."""
    net, catalog, buyer, *_ = world
    order = retail_order(session, consumer_scope_of(session, buyer), catalog, 2, 1).order
    pay_by_gateway(session, order)
    use_scope(session, system_scope(net.tenant.id))
    return session.scalars(select(OutboxEvent).where(
        OutboxEvent.tenant_id == net.tenant.id, OutboxEvent.subject_id == order.id,
        OutboxEvent.type == "order.paid")).one()


@pytest.mark.postgres  # the count is PostgreSQL's (FOR UPDATE, ON CONFLICT, scope settings)
def test_a_paid_orders_commissions_and_takings_stay_within_their_budget_of_statements(session, world,
                                                                                    monkeypatch):
    monkeypatch.setattr(outbox, "_enqueue_relay", lambda session, tenant_id: None)  # handlers run below
    net = world[0]
    for _ in range(2):  # the first creates the accounts, the second finds them: cached once it commits
        paid_store_order(session, world, 1)
        session.commit()
    event = paid_event(session, world)
    order_id = event.subject_id
    session.commit()
    session.expunge_all()  # a worker's relay holds nothing of the order
    event = session.get(OutboxEvent, (net.tenant.id, event.id))
    for handler in FINANCE_HANDLERS["order.paid"]:  # before distribution's, as wired; not counted
        handler(session, event)
    with statements_sent(db.engine) as sent:
        accrue_commissions(session, event)
        record_takings(session, event)
    print(summary(sent))
    assert len(sent) <= PAID_ORDER_HANDLERS_BUDGET, summary(sent)
    order = session.get(Order, (net.tenant.id, order_id))
    assert set(takings(session, net, order)) == {EntryKind.takings, EntryKind.fee, EntryKind.adjustment}
    assert commissions.net_by(commissions.entries(session, net, order)) > 0  # the work was done
    assert org_books(session, net, "jingan") == 0
    assert trial_balance(session, net.tenant.id) == 0
