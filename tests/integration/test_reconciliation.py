"""Reconciliation against the Stripe stand-in: clean books match every balance transaction of a
payout; each kind of planted difference is found, and nothing else; fees are traced to the store."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow, uuid7
from app.finance import reconcile
from app.finance.control_models import ReconciliationDifference, RunStatus
from app.finance.journal import trial_balance
from app.finance.models import JournalEntry
from app.payments import intents, outside, webhooks
from app.payments.models import Payment, PaymentStatus
from app.platform.outbox import relay_pending
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.integration.test_orders_fixtures import retail_order, stocked_catalog
from tests.support.payments import make_order, stripe_event
from tests.support.scope import use_scope


def deliver(session, gateway, event_type, obj):
    event = stripe_event(event_type, obj)
    webhooks.store(session, event)
    return webhooks.process(session, event_id=event["id"], gateway=gateway)


class Shop:
    """A tenant whose consumer pays retail orders through the stand-in, webhooks delivered."""

    def __init__(self, session, gateway, standin):
        self.session, self.gateway, self.standin = session, gateway, standin
        self.net = make_tenant(session)
        self.catalog = stocked_catalog(session, self.net)
        self.consumer = consumer_scope_of(session, add_consumer(session, self.net, "jingan"))

    @property
    def state(self):
        return self.standin.state

    def paid(self, *qtys, tamper=None) -> tuple:
        use_scope(self.session, self.consumer)
        order = retail_order(self.session, self.consumer, self.catalog, *qtys).order
        payment = intents.start_payment(self.session, scope=self.consumer, order_id=order.id,
                                        gateway=self.gateway)
        pi = self.state.succeed(payment.gateway_ref)
        assert deliver(self.session, self.gateway, "payment_intent.succeeded", pi) == "paid"
        if tamper:  # the gateway's record now differs from what it told us when it happened
            tamper(next(bt for bt in self.state.balance_transactions if bt["source"] == pi["latest_charge"]))
        return order, pi

    def run(self):
        use_scope(self.session, system_scope(self.net.tenant.id))
        relay_pending(self.session, tenant_id=self.net.tenant.id)
        run = reconcile.start_run(self.session, scope_of(self.session, self.net, "brand"),
                                  since=utcnow() - timedelta(hours=1))
        use_scope(self.session, system_scope(self.net.tenant.id))
        run = reconcile.run_reconciliation(self.session, tenant_id=self.net.tenant.id, run_id=run.id,
                                           gateway=self.gateway)
        self.session.refresh(run)
        found = list(self.session.scalars(select(ReconciliationDifference).where(
            ReconciliationDifference.tenant_id == self.net.tenant.id,
            ReconciliationDifference.run_id == run.id)))
        return run, found


@pytest.fixture
def shop(session, gateway, standin):
    return Shop(session, gateway, standin)


def test_clean_books_match_every_transaction_of_the_payout_and_fees_are_traced_to_the_store(shop):
    s = shop
    _, pi = s.paid(2, 1)
    s.paid(1)
    refund = s.state.refund_from_dashboard(pi["id"], 500)
    assert deliver(s.session, s.gateway, "refund.created", refund) == "settled"
    _, disputed = s.paid(3)
    dispute = s.state.dispute(disputed["id"])
    assert deliver(s.session, s.gateway, "charge.dispute.created", dispute) == "dispute_opened"
    won = s.state.close_dispute(dispute["id"], "won")
    assert deliver(s.session, s.gateway, "charge.dispute.closed", won) == "dispute_won"
    payout = s.state.payout()
    assert deliver(s.session, s.gateway, "payout.paid", payout) == "payout_paid"

    run, found = s.run()

    assert found == []
    assert run.status is RunStatus.done and run.differences == 0
    assert run.transactions == 7 and run.matched == 7  # 3 charges, a refund, a dispute and back, the payout
    counts = run.summary["counts"]
    assert (counts["matched_fee"], counts["matched_dispute"], counts["matched_dispute_reversal"]) == (4, 1, 1)
    fees = sum(bt["fee"] for bt in s.state.balance_transactions)
    assert run.summary["fees_by_store"] == {str(s.net.org("jingan").id): fees}
    dispute_fee = s.session.scalars(select(JournalEntry).where(
        JournalEntry.tenant_id == s.net.tenant.id, JournalEntry.kind == "gateway_fee",
        JournalEntry.details["order_id"].as_string() == str(_order_of(s, disputed["id"])))).all()
    assert len(dispute_fee) == 2  # the charge's fee and the dispute's, both traced to the order
    assert {entry.owner_path for entry in dispute_fee} == {s.net.org("jingan").path}
    assert trial_balance(s.session, s.net.tenant.id) == 0


def _order_of(shop, pi_id):
    return shop.session.scalar(select(Payment.order_id).where(Payment.gateway_ref == pi_id))


def test_each_planted_difference_is_found_and_nothing_else(shop):
    s = shop
    tampered, _ = s.paid(1, tamper=lambda bt: bt.update(amount=bt["amount"] + 100, net=bt["net"] + 100))
    in_dollars, _ = s.paid(2, tamper=lambda bt: bt.update(currency="usd"))
    _, refunded = s.paid(1)
    s.state.refund_from_dashboard(refunded["id"], 300)  # its webhook never arrives
    _, disputed = s.paid(1)
    dispute = s.state.dispute(disputed["id"])
    use_scope(s.session, system_scope(s.net.tenant.id))
    with_payment = s.session.scalars(select(Payment).where(Payment.gateway_ref == disputed["id"])).one()
    outside.dispute_opened(s.session, payment=with_payment, dispute=dispute)  # booked, but not its fee
    transfer = s.gateway.transfer(amount_minor=1_000, currency="CNY", destination="acct_standin",
                                  source_charge=None, transfer_group="g", idempotency_key=f"k{uuid7()}",
                                  metadata={"tenant_id": str(s.net.tenant.id)})
    s.state.payout()  # and its payout.paid webhook never arrives
    ghost = make_order(s.session, s.net, seller="shanghai", buyer="jingan", total=4_200)
    s.session.add(Payment(tenant_id=s.net.tenant.id, id=uuid7(), order_id=ghost.id, gateway="stripe",
                          gateway_ref="pi_ghost", charge_ref="ch_ghost", status=PaymentStatus.succeeded,
                          amount_minor=4_200, received_minor=4_200, refunded_minor=0, refund_reserved_minor=0,
                          currency="CNY", owner_path=ghost.owner_path, seller_path=ghost.seller_path))
    s.session.flush()

    run, found = s.run()

    kinds = sorted((d.kind.value, d.category) for d in found)
    assert kinds == sorted([
        ("amount_mismatch", "charge"),
        ("currency_mismatch", "charge"), ("currency_mismatch", "fee"),
        ("missing_in_books", "refund"),
        ("missing_in_books", "fee"),  # the dispute's
        ("missing_in_books", "transfer"),
        ("missing_in_books", "payout"),
        ("missing_at_gateway", "charge"),
    ])
    by = {(d.kind.value, d.category): d for d in found}
    assert by["amount_mismatch", "charge"].order_id == tampered.id
    assert (by["amount_mismatch", "charge"].gateway_amount_minor
            - by["amount_mismatch", "charge"].books_amount_minor) == 100
    assert by["currency_mismatch", "charge"].order_id == in_dollars.id
    assert (by["currency_mismatch", "charge"].gateway_currency,
            by["currency_mismatch", "charge"].books_currency) == ("USD", "CNY")
    assert by["missing_at_gateway", "charge"].gateway_ref == "ch_ghost"
    assert by["missing_in_books", "transfer"].gateway_ref == transfer.id
    fee = by["missing_in_books", "fee"]
    assert (fee.gateway_amount_minor, fee.gateway_ref) == (s.state.dispute_fee, dispute["id"])
    store = s.net.org("jingan")
    assert (fee.org_id, fee.owner_path) == (store.id, store.path)  # the store's finance sees it
    assert run.differences == len(found) == 8
    own = reconcile.list_differences(s.session, scope_of(s.session, s.net, "jingan"), run_id=run.id).items
    assert sorted((d.kind.value, d.category) for d in own) == sorted([  # the store's finance: its own
        ("amount_mismatch", "charge"), ("currency_mismatch", "charge"), ("currency_mismatch", "fee"),
        ("missing_in_books", "fee")])
    west = scope_of(s.session, s.net, "west")
    assert reconcile.list_differences(s.session, west, run_id=run.id).items == []


def test_a_transaction_of_another_tenant_on_the_shared_account_is_not_ours(session, gateway, standin):
    ours, theirs = Shop(session, gateway, standin), Shop(session, gateway, standin)
    ours.paid(1)
    theirs.paid(2)
    payout = ours.state.payout()
    deliver(session, gateway, "payout.paid", payout)
    run, found = ours.run()
    assert found == [] and run.summary["counts"]["other_tenants"] == 1
