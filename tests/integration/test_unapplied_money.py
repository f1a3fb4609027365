"""Money without a home becomes a receipt that finance applies or returns; one open intent per order."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.finance.accounts import account_balances
from app.finance.journal import trial_balance
from app.finance.models import AccountCode
from app.orders.models import OrderStatus
from app.payments import credit, intents, unapplied
from app.payments.gateway import use_gateway
from app.payments.models import Payment, PaymentStatus, ReceiptReason, UnappliedReceipt
from app.payments.offline_gateway import OfflineGateway
from app.platform.outbox import relay_pending
from app.tenancy.enums import Role
from app.tenancy.permissions import PermissionDenied
from app.tenancy.scope import set_current_scope, system_scope
from tests import database
from tests.factories import add_consumer, add_user, consumer_scope_of, make_tenant, scope_of
from tests.support.committed import app_role_engine, delete_tenant
from tests.support.payments import make_order
from tests.support.scope import use_scope

A = AccountCode


def _balances(session, net, *, without: tuple[str, ...] = ()):
    """Totals per account code, leaving out the books of the orgs `without` (buyers: test_finance_books)."""
    relay_pending(session, tenant_id=net.tenant.id)
    totals: dict = {}
    skipped = {net.org(key).id for key in without}
    for b in account_balances(session, system_scope(net.tenant.id)):
        if b.account.org_id not in skipped:
            totals[b.account.code] = totals.get(b.account.code, 0) + b.balance
    return totals


def test_a_bank_transfer_confirmed_after_cancellation_waits_as_a_receipt_until_finance_returns_it(session):
    net = make_tenant(session)
    order = make_order(session, net, seller="shanghai", buyer="jingan", total=7_000,
                       status=OrderStatus.cancelled)
    finance = scope_of(session, net, "shanghai")
    payment = credit.confirm_bank_transfer(session, scope=finance, order_id=order.id, reference="ICBC-LATE")
    again = credit.confirm_bank_transfer(session, scope=scope_of(session, net, "shanghai"), order_id=order.id,
                                         reference="ICBC-LATE")
    assert again.id == payment.id  # the same transfer confirmed twice arrived once
    (receipt,) = unapplied.list_receipts(session, scope=scope_of(session, net, "shanghai")).items
    assert (receipt.reason, receipt.method, receipt.open_minor) == (ReceiptReason.order_cancelled, "offline",
                                                                    7_000)
    assert unapplied.list_receipts(session, scope=scope_of(session, net, "west")).items == []
    use_scope(session, system_scope(net.tenant.id))
    assert _balances(session, net)[A.unapplied_receipts] == 7_000
    with pytest.raises(unapplied.ReceiptDoesNotFit):  # bank money goes back with a bank reference
        unapplied.return_receipt(session, scope=scope_of(session, net, "shanghai"), receipt_id=receipt.id,
                                 reference=None, gateway=OfflineGateway())
    returned = unapplied.return_receipt(session, scope=scope_of(session, net, "shanghai"),
                                        receipt_id=receipt.id, reference="ICBC-BACK-1",
                                        gateway=OfflineGateway())
    assert (returned.open_minor, returned.return_reference) == (0, "ICBC-BACK-1")
    with pytest.raises(unapplied.ReceiptNotOpen):
        unapplied.return_receipt(session, scope=scope_of(session, net, "shanghai"), receipt_id=receipt.id,
                                 reference="ICBC-BACK-2", gateway=OfflineGateway())
    use_scope(session, system_scope(net.tenant.id))
    balances = _balances(session, net)
    assert (balances[A.unapplied_receipts], balances[A.cash]) == (0, 0)
    assert trial_balance(session, net.tenant.id) == 0


def test_an_overpayment_is_applied_to_its_order_by_finance_and_the_rest_goes_back_through_the_gateway(
        session, gateway, standin):
    net = make_tenant(session)
    consumer = add_consumer(session, net, "jingan")
    order = make_order(session, net, consumer=consumer, total=12_800)
    payment = intents.start_payment(session, scope=consumer_scope_of(session, consumer), order_id=order.id,
                                   gateway=gateway)
    pi = standin.state.succeed(payment.gateway_ref, amount=13_000)
    assert intents.payment_succeeded(session, tenant_id=net.tenant.id, gateway=gateway,
                                    at_gateway=gateway.get_payment(pi["id"])) == "amount_mismatch"
    use_scope(session, system_scope(net.tenant.id))
    receipt = session.scalars(select(UnappliedReceipt).where(UnappliedReceipt.payment_id == payment.id)).one()
    guide = add_user(session, net, "jingan", Role.guide)
    with pytest.raises(PermissionDenied):  # guides do not confirm payments
        unapplied.apply_receipt(session, scope=scope_of(session, net, "jingan", Role.guide),
                                receipt_id=receipt.id, order_id=order.id)
    assert guide is not None
    applied = unapplied.apply_receipt(session, scope=scope_of(session, net, "jingan"), receipt_id=receipt.id,
                                      order_id=order.id)
    assert (applied.applied_minor, applied.open_minor) == (12_800, 200)
    session.refresh(order)
    assert order.status is OrderStatus.paid
    with use_gateway(gateway):  # claimed and committed first; the gateway is asked after the commit
        unapplied.return_receipt(session, scope=scope_of(session, net, "jingan"), receipt_id=receipt.id,
                                 reference=None, gateway=gateway)
        session.commit()
    (call,) = standin.state.calls("POST", "/v1/refunds")
    assert call.form["amount"] == "200"
    use_scope(session, system_scope(net.tenant.id))
    balances = _balances(session, net)
    assert balances[A.unapplied_receipts] == 0
    assert balances[A.sales_revenue] == 12_800
    assert balances[A.gateway_clearing] + balances[A.gateway_fees] == 12_800
    assert trial_balance(session, net.tenant.id) == 0


def test_a_receipt_pays_only_an_order_of_the_same_buyer_and_seller(session):
    net = make_tenant(session)
    late = make_order(session, net, seller="shanghai", buyer="jingan", total=5_000,
                      status=OrderStatus.cancelled)
    credit.confirm_bank_transfer(session, scope=scope_of(session, net, "shanghai"), order_id=late.id,
                                 reference="ICBC-9")
    other_buyer = make_order(session, net, seller="shanghai", buyer="hangzhou", total=5_000)
    same_buyer = make_order(session, net, seller="shanghai", buyer="jingan", total=5_000)
    (receipt,) = unapplied.list_receipts(session, scope=scope_of(session, net, "shanghai")).items
    with pytest.raises(unapplied.ReceiptDoesNotFit):
        unapplied.apply_receipt(session, scope=scope_of(session, net, "shanghai"), receipt_id=receipt.id,
                                order_id=other_buyer.id)
    unapplied.apply_receipt(session, scope=scope_of(session, net, "shanghai"), receipt_id=receipt.id,
                            order_id=same_buyer.id)
    use_scope(session, system_scope(net.tenant.id))
    session.refresh(same_buyer)
    assert same_buyer.status is OrderStatus.paid and same_buyer.payment_method.value == "offline"
    balances = _balances(session, net, without=("jingan",))
    assert (balances[A.unapplied_receipts], balances[A.cash], balances[A.sales_revenue]) == (0, 5_000, 5_000)


@pytest.fixture
def committed_order(app):
    admin, _, _ = database.test_urls()
    engine = create_engine(admin, poolclass=NullPool)
    with Session(engine, expire_on_commit=False) as session:
        net = make_tenant(session)
        consumer = add_consumer(session, net, "jingan")
        order = make_order(session, net, consumer=consumer, total=9_900)
        data = {"tenant_id": net.tenant.id, "order_id": order.id,
                "scope": consumer_scope_of(session, consumer)}
        session.commit()
    engine.dispose()
    set_current_scope(None)  # the fixture's scopes must not leak into later tests
    yield data
    delete_tenant(data["tenant_id"])


def test_six_parallel_pay_requests_for_one_order_make_exactly_one_intent(committed_order, gateway, standin):
    engine = app_role_engine()
    barrier = threading.Barrier(6)

    def pay(_):
        with Session(engine, expire_on_commit=False) as session:
            use_scope(session, committed_order["scope"])
            barrier.wait()
            payment = intents.start_payment(session, scope=committed_order["scope"],
                                           order_id=committed_order["order_id"], gateway=gateway)
            session.commit()
            return payment.gateway_ref

    with ThreadPoolExecutor(6) as pool:
        refs = list(pool.map(pay, range(6)))
    engine.dispose()
    assert len(set(refs)) == 1
    assert len(standin.state.payment_intents) == 1
    admin, _, _ = database.test_urls()
    check = create_engine(admin, poolclass=NullPool)
    with Session(check) as session:
        rows = session.scalar(select(func.count()).select_from(Payment).where(
            Payment.order_id == committed_order["order_id"], Payment.status == PaymentStatus.pending))
    check.dispose()
    assert rows == 1
