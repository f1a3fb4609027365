"""Demo distribution and settlement: bound customers, commissioned sales, one closed period.

Run by `seed-demo` after the orders. Customers are bound to promoters (a share link, a QR code)
and to their store's guide; they buy at their home stores and pay through the mini-program
(the brand's merchant account, as the Stripe webhook would report it), so stores are owed takings
and promoters, guides, stores and distributors earn commissions. The sales are then dated back to
last week, the week is settled and its statements are taken through every state:
pending approval, approved, paying (claimed, the recover-payouts beat sends it), paid (by bank),
reopened (the transfer came back) and carried (below the minimum payout).
"""

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow, uuid7
from app.distribution import bindings, payouts, plans, promoters
from app.distribution.accrual import release_due
from app.distribution.models import BindingSource, CommissionPlan, DistributionEntry, Promoter
from app.distribution.settlement_models import PayoutAccount, Statement
from app.distribution.settlement_rules import last_closed_period
from app.distribution.statements import run_settlement
from app.orders import fulfilment
from app.orders.models import Order
from app.orders.payment_hooks import mark_paid
from app.orders.placement import OrderRequest, place_retail
from app.payments.gateway import current_gateway
from app.platform.outbox import relay_pending
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.enums import ActorKind, Role
from app.tenancy.models import Consumer, Org, Tenant, User
from app.tenancy.resolve import consumer_scope, staff_scope
from app.tenancy.scope import Scope, system_scope

SETTINGS = {"promoter_mode": "open", "attribution": "last_touch", "freeze_days": 7, "period": "weekly",
            "min_payout_minor": 2_000}  # ¥20: the smallest distributor share is carried
RULES = [{"role": "promoter_l1", "rate_bp": 1000}, {"role": "promoter_l2", "rate_bp": 300},
         {"role": "guide", "rate_bp": 200}, {"role": "home_store", "rate_bp": 200}]
ADDRESS = {"name": "王小明", "phone": "13800138001", "address": "上海市静安区南京西路 1601 号"}


def seed_distribution(session: Session, tenant: Tenant, orgs: dict[str, Org]) -> list[Statement]:
    """Commission terms, promoters and bindings, commissioned sales, then one settled week."""
    _as(session, system_scope(tenant.id))
    tenant.settings = {**(tenant.settings or {}), "distribution": {
        **SETTINGS, **((tenant.settings or {}).get("distribution") or {})}}
    session.flush()
    brand = _staff(session, tenant, orgs["brand"], Role.owner)
    _ensure_terms(session, tenant, brand, orgs)
    people = {c.name: c for c in session.scalars(select(Consumer).where(Consumer.tenant_id == tenant.id))}
    lina, zhangwei = _promoter(session, tenant, people["李娜"]), _promoter(session, tenant, people["张伟"])
    _bind(session, tenant, people["王小明"], lina, BindingSource.share_link)
    _bind(session, tenant, people["陈静"], zhangwei, BindingSource.qr_code)
    _bind(session, tenant, people["刘洋"], zhangwei, BindingSource.share_link)
    guide = session.scalar(select(User).where(User.tenant_id == tenant.id, User.org_id == orgs["jingan"].id,
                                              User.role == Role.guide))
    if guide is not None:  # 归属: the jingan guide serves 王小明 (separate from the promoter upline)
        people["王小明"].guide_id = guide.id
    sales = [_sale(session, tenant, people["王小明"], orgs["jingan"], qty=3),
             _sale(session, tenant, people["陈静"], orgs["hangzhou"], qty=2),
             _sale(session, tenant, people["刘洋"], orgs["chengdu"], qty=1, price_cap=True)]
    return _close_last_week(session, tenant, orgs, [order.id for order in sales if order is not None])


def _as(session: Session, scope: Scope) -> Scope:
    """Act as `scope` from here on: the seeder plays each member in turn."""
    enter_scope(session, Why.seed_demo, scope=scope)
    return scope


def _staff(session: Session, tenant: Tenant, org: Org, role: Role) -> Scope:
    user = session.scalar(select(User.id).where(User.tenant_id == tenant.id, User.org_id == org.id))
    return _as(session, staff_scope(session, tenant=tenant, org=org, role=role, actor_kind=ActorKind.staff,
                                    actor_id=user))


def _ensure_terms(session: Session, tenant: Tenant, brand: Scope, orgs: dict[str, Org]) -> None:
    """A plan for every role unless the brand already has one (distribution's own demo may)."""
    _as(session, system_scope(tenant.id))
    if session.scalar(select(CommissionPlan.id).where(CommissionPlan.tenant_id == tenant.id,
                                                      CommissionPlan.active.is_(True))):
        return
    _as(session, brand)
    plans.create_plan(session, brand, name="Launch plan", rules=[
        *RULES, {"role": "distributor", "org_id": orgs["shanghai"].id, "rate_bp": 300},
        {"role": "distributor", "org_id": orgs["east"].id, "rate_bp": 500},
        {"role": "distributor", "org_id": orgs["west"].id, "rate_bp": 400}])


def _promoter(session: Session, tenant: Tenant, consumer: Consumer) -> Promoter:
    scope = consumer_scope(tenant.id, consumer.id)
    _as(session, scope)
    return promoters.my_promoter(session, scope) or promoters.apply(session, scope)


def _bind(session: Session, tenant: Tenant, consumer: Consumer, promoter: Promoter, source) -> None:
    scope = consumer_scope(tenant.id, consumer.id)
    _as(session, scope)
    bindings.bind(session, scope, code=promoter.code, source=source)


def _sale(session: Session, tenant: Tenant, consumer: Consumer, store: Org, *, qty: int,
          price_cap: bool = False) -> Order | None:
    """Placed at the home store, paid in the mini-program, shipped and received."""
    from app.catalog.models import Sku  # noqa: PLC0415

    _as(session, system_scope(tenant.id))
    skus = list(session.scalars(select(Sku).where(Sku.tenant_id == tenant.id).order_by(Sku.code)))
    if not skus:
        return None
    picks = skus[-1:] if price_cap else skus[:2]  # the small sale keeps one promoter below the minimum
    scope = consumer_scope(tenant.id, consumer.id)
    _as(session, scope)
    order = place_retail(session, scope, request=OrderRequest(
        lines=[{"sku_id": sku.id, "qty": 1 if price_cap else qty} for sku in picks], ship_to=ADDRESS)).order
    _as(session, system_scope(tenant.id))
    mark_paid(session, tenant_id=tenant.id, order_id=order.id, amount_minor=order.total_minor,
              payment_ref=f"pi_demo_{order.id.hex[:12]}", method="stripe")
    fulfilment.ship(session, scope=_staff(session, tenant, store, Role.owner), order_id=order.id,
                    carrier="SF Express", tracking_number=f"SF{order.id.hex[-12:].upper()}")
    _as(session, scope)
    fulfilment.complete(session, scope, order_id=order.id)
    _relay(session, tenant)
    return order


def _relay(session: Session, tenant: Tenant) -> None:
    _as(session, system_scope(tenant.id))
    while relay_pending(session, tenant_id=tenant.id):
        pass


def _close_last_week(session: Session, tenant: Tenant, orgs: dict[str, Org],
                     order_ids: list) -> list[Statement]:
    """Date the sales' freeze back into last week, settle it, and walk the statements through every state."""
    system = system_scope(tenant.id)
    _as(session, system)
    now = utcnow()
    start, end = last_closed_period(now, SETTINGS["period"])
    session.execute(update(DistributionEntry).where(
        DistributionEntry.tenant_id == tenant.id, DistributionEntry.order_id.in_(order_ids))
        .values(available_at=start + timedelta(days=3)).execution_options(synchronize_session=False))
    release_due(session, tenant_id=tenant.id, now=now)
    run_settlement(session, system, now=now)
    statements = {s.beneficiary_id: s for s in session.scalars(select(Statement).where(
        Statement.tenant_id == tenant.id, Statement.period_start == start))}
    finance = _staff(session, tenant, orgs["brand"], Role.finance)
    lina = session.scalar(select(Consumer.id).where(Consumer.tenant_id == tenant.id, Consumer.name == "李娜"))
    plan = [(orgs["jingan"].id, "paid"), (orgs["shanghai"].id, "approved"), (orgs["hangzhou"].id, "paying"),
            (lina, "reopened")]
    for beneficiary_id, state in plan:
        statement = statements.get(beneficiary_id)
        if statement is None or statement.status.value != "pending_approval":
            continue
        _walk(session, tenant, finance, statement, state)
    _as(session, system)
    return list(session.scalars(select(Statement).where(Statement.tenant_id == tenant.id)))


def _walk(session: Session, tenant: Tenant, finance: Scope, statement: Statement, state: str) -> None:
    _as(session, finance)
    payouts.approve_statement(session, finance, statement.id)
    if state == "paid":
        payouts.pay_offline(session, finance, statement.id,
                            bank_reference=f"BOC-DEMO-{statement.id.hex[-8:]}")
        return
    if state == "approved":
        return
    _as(session, system_scope(tenant.id))
    session.add(PayoutAccount(tenant_id=tenant.id, id=uuid7(), owner_path=statement.owner_path,
                              beneficiary_kind=statement.beneficiary_kind,
                              beneficiary_id=statement.beneficiary_id,
                              connect_account=f"acct_demo_{statement.beneficiary_id.hex[:12]}"))
    session.flush()
    _as(session, finance)
    payout = payouts.pay_statement(session, finance, statement.id)
    session.info.get("after_commit", []).pop()  # the demo sends it itself (reopened) or leaves it claimed
    if state == "paying":
        return  # claimed and committed: the recover-payouts beat sends it once the demo runs
    _as(session, system_scope(tenant.id))
    request = payouts.transfer_request(session, tenant_id=tenant.id, payout_id=payout.id)
    transfer = current_gateway().transfer(**request)
    payouts.record_transfer(session, tenant_id=tenant.id, payout_id=payout.id, transfer=transfer)
    payouts.payout_reversed(session, tenant_id=tenant.id, transfer_id=transfer.id)  # the bank sent it back
