"""Demo orders: a handful in every state, over the demo catalog (run after seed_catalog)."""

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.models import Sku
from app.orders import aftersales, fulfilment
from app.orders.models import Order, RefundKind
from app.orders.placement import OrderRequest, place_in_store, place_retail, place_supply_order
from app.orders.queries import lines_of
from app.payments.credit import confirm_bank_transfer
from app.payments.refund_desk import confirm_offline
from app.payments.refunds import open_attempt, settle
from app.platform.outbox import relay_pending
from app.tenancy.elevation import Why, enter_scope
from app.tenancy.enums import ActorKind, OrgKind, Role
from app.tenancy.models import Consumer, Org, Tenant, User
from app.tenancy.resolve import consumer_scope
from app.tenancy.scope import Scope, system_scope

ADDRESS = {"name": "王小明", "phone": "13800138001", "address": "上海市静安区南京西路 1601 号"}


def seed_orders(session: Session, tenant: Tenant, orgs: dict[str, Org]) -> list[Order]:
    """Retail, in-store, replenish and purchase orders from pending payment to refunded."""
    enter_scope(session, Why.seed_demo, scope=system_scope(tenant.id))
    skus = list(session.scalars(select(Sku).where(Sku.tenant_id == tenant.id).order_by(Sku.code)))
    stores = [org for org in orgs.values() if org.kind is OrgKind.store]
    if not skus or not stores:
        return []
    store = stores[0]
    members = list(session.scalars(select(Consumer).where(
        Consumer.tenant_id == tenant.id, Consumer.home_store_id == store.id).order_by(Consumer.created_at)))
    if not members:
        return []
    seeder = _Seeder(session, tenant, skus)
    member = members[0]
    orders = [
        seeder.retail(member, [0, 1]),  # pending_payment
        seeder.paid(seeder.retail(member, [2])),  # paid
        seeder.shipped(seeder.paid(seeder.retail(member, [3, 4])), store),  # shipped
        seeder.completed(seeder.shipped(seeder.paid(seeder.retail(member, [5])), store), member),
        seeder.cancelled(seeder.retail(member, [6]), member),  # cancelled
    ]
    refunded = seeder.paid(seeder.retail(member, [7, 8], qty=2))
    seeder.refund(refunded, member, store, decide="execute")  # refunded (part of a line)
    approved = seeder.paid(seeder.retail(member, [9]))
    seeder.refund(approved, member, store, decide="approve")  # refund_approved, waiting for the gateway
    rejected = seeder.paid(seeder.retail(member, [10]))
    seeder.refund(rejected, member, store, decide="reject")  # refund_rejected
    requested = seeder.paid(seeder.retail(member, [11]))
    seeder.refund(requested, member, store, decide=None)  # refund_requested
    failed = seeder.paid(seeder.retail(member, [12]))
    seeder.refund(failed, member, store, decide="fail")  # refund_failed: waits on the refund desk
    closed = seeder.paid(seeder.retail(member, [13, 14]))
    seeder.refund(closed, member, store, decide="execute", everything=True)  # closed: all back, shipping too
    orders += [refunded, approved, rejected, requested, failed, closed]
    in_store = seeder.in_store(store, member, [0])
    fulfilment.pick_up(session, scope=seeder.staff(store), order_id=seeder.paid(in_store).id)
    orders.append(in_store)
    parent = orgs_by_id(orgs).get(store.parent_id)
    if parent is not None:
        replenish = seeder.supply(store, [0, 1], qty=6)
        orders.append(seeder.shipped(seeder.paid(replenish), parent))
        if parent.parent_id is not None:
            purchase = seeder.supply(parent, [2], qty=12)
            grand = orgs_by_id(orgs)[parent.parent_id]
            seeder.shipped(seeder.paid(purchase), grand)
            fulfilment.complete(session, scope=seeder.staff(parent), order_id=purchase.id)
            orders.append(purchase)
    enter_scope(session, Why.seed_demo, scope=system_scope(tenant.id))
    session.flush()
    return orders


def orgs_by_id(orgs: dict[str, Org]) -> dict:
    return {org.id: org for org in orgs.values()}


class _Seeder:
    """Drives each order through the same services the API uses."""

    def __init__(self, session: Session, tenant: Tenant, skus: list[Sku]):
        self.session, self.tenant, self.skus = session, tenant, skus

    def staff(self, org: Org) -> Scope:
        user = self.session.scalar(select(User.id).where(User.tenant_id == self.tenant.id,
                                                         User.org_id == org.id))
        scope = replace(system_scope(self.tenant.id), actor_kind=ActorKind.staff, actor_id=user,
                        org_id=org.id, org_path=org.path, role=Role.owner)
        enter_scope(self.session, Why.seed_demo, scope=scope)
        return scope

    def _lines(self, picks: list[int], qty: int) -> list[dict]:
        return [{"sku_id": self.skus[i % len(self.skus)].id, "qty": qty} for i in picks]

    def retail(self, member: Consumer, picks: list[int], qty: int = 1) -> Order:
        scope = consumer_scope(self.tenant.id, member.id)
        enter_scope(self.session, Why.seed_demo, scope=scope)
        return place_retail(self.session, scope, request=OrderRequest(
            lines=self._lines(picks, qty), ship_to=ADDRESS)).order

    def in_store(self, store: Org, member: Consumer, picks: list[int]) -> Order:
        return place_in_store(self.session, scope=self.staff(store), member_id=member.id,
                              request=OrderRequest(lines=self._lines(picks, 1), delivery="pickup")).order

    def supply(self, buyer: Org, picks: list[int], qty: int) -> Order:
        return place_supply_order(self.session, scope=self.staff(buyer),
                                  request=OrderRequest(lines=self._lines(picks, qty))).order

    def paid(self, order: Order) -> Order:
        """The seller's finance confirms an offline payment (a Payment row, then mark_paid)."""
        seller = self.session.get(Org, (self.tenant.id, order.seller_org_id))
        confirm_bank_transfer(self.session, scope=self.staff(seller), order_id=order.id,
                              reference=f"demo-{order.id.hex}")
        self.session.refresh(order)
        return order

    def shipped(self, order: Order, seller: Org) -> Order:
        fulfilment.ship(self.session, scope=self.staff(seller), order_id=order.id, carrier="SF Express",
                        tracking_number=f"SF{order.id.hex[-12:].upper()}")
        return order

    def completed(self, order: Order, member: Consumer) -> Order:
        scope = consumer_scope(self.tenant.id, member.id)
        enter_scope(self.session, Why.seed_demo, scope=scope)
        return fulfilment.complete(self.session, scope, order_id=order.id)

    def cancelled(self, order: Order, member: Consumer) -> Order:
        scope = consumer_scope(self.tenant.id, member.id)
        enter_scope(self.session, Why.seed_demo, scope=scope)
        return fulfilment.cancel(self.session, scope, order_id=order.id, reason="changed my mind")

    def refund(self, order: Order, member: Consumer, store: Org, *, decide: str | None,
               everything: bool = False) -> None:
        scope = consumer_scope(self.tenant.id, member.id)
        enter_scope(self.session, Why.seed_demo, scope=scope)
        order_lines = lines_of(self.session, order)
        wanted = ([{"line_id": line.id, "qty": line.qty} for line in order_lines] if everything
                  else [{"line_id": order_lines[0].id, "qty": 1}])
        refund = aftersales.request_refund(
            self.session, scope, order_id=order.id, kind=RefundKind.refund_only,
            lines=wanted, reason="Box arrived dented")
        if decide == "reject":
            aftersales.reject_refund(self.session, scope=self.staff(store), refund_id=refund.id,
                                     note="Photos show no damage")
        elif decide in ("approve", "execute", "fail"):
            aftersales.approve_refund(self.session, scope=self.staff(store), refund_id=refund.id)
            if decide in ("execute", "fail"):  # the payments module claims it when the approval is relayed
                enter_scope(self.session, Why.seed_demo, scope=system_scope(self.tenant.id))
                relay_pending(self.session, tenant_id=self.tenant.id)
                attempt = open_attempt(self.session, self.tenant.id, refund.id)  # offline: waits for finance
                if decide == "execute":
                    confirm_offline(self.session, self.staff(store), payment_refund_id=attempt.id,
                                    reference=f"demo-refund-{refund.id.hex[-8:]}")
                else:  # the bank sent the transfer back
                    settle(self.session, row=attempt, status="failed",
                           last_error="The bank returned the transfer: account closed")
