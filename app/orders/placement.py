"""Placing orders: retail (mini-program, in-store by a guide), replenish and purchase (to the parent org).

Idempotent per tenant + actor + Idempotency-Key: the same key with the same body answers the
order it created; with another body, 409 'idempotency_key_reused'.
"""

import functools
import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, make_transient_to_detached

from app.db import insert_loaded, insert_or_ignore_for, utcnow, uuid7
from app.distribution.snapshot import snapshot_commissions
from app.errors import DomainError, NotFound
from app.finance import invoices
from app.orders import events, rules, stock_moves
from app.orders.cache import TtlCache
from app.orders.errors import IdempotencyKeyReused, InvalidOrder, InvalidSeller
from app.orders.models import Order, OrderFlow, OrderLine, OrderStatus
from app.orders.transitions import actor_of, record_placed
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import ActorKind, OrgKind
from app.tenancy.filters import get_visible
from app.tenancy.models import Consumer, Org, Tenant
from app.tenancy.orgs import org_by_id
from app.tenancy.permissions import Action, require
from app.tenancy.scope import Scope, system_scope

MAX_LINES = 100
_TENANT_TERMS = TtlCache(seconds=60)
_SKU_NAMES = TtlCache(seconds=300)


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool
    lines: list[OrderLine] | None = None


@dataclass(frozen=True)
class OrderRequest:
    """What the caller asked for; its hash makes an Idempotency-Key safe to replay."""

    lines: list[dict]
    delivery: str = "ship"
    ship_to: dict | None = None
    note: str | None = None
    payment_method: str | None = None
    idempotency_key: str | None = None
    fingerprint: dict | None = None  # what identifies the request instead of its lines (cart checkout)
    invoice: dict | None = None  # {title, tax_id}: the buyer wants an invoice (finance.invoices)
    # membership (retail): a coupon, points to pay with, a points-mall item (app/membership/checkout.py)
    coupon_id: uuid.UUID | None = None
    points: int = 0
    mall_item_id: uuid.UUID | None = None

    def digest(self, **extra) -> str:
        extra.update({key: value for key, value in (("coupon_id", self.coupon_id), ("points", self.points),
                                                    ("mall_item_id", self.mall_item_id)) if value})
        body = {"lines": self.lines, "delivery": self.delivery, "ship_to": self.ship_to,
                "note": self.note, "payment_method": self.payment_method, **extra}
        if self.invoice:
            body["invoice"] = self.invoice
        if self.fingerprint is not None:
            body = {**self.fingerprint, **extra}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def place_retail(session: Session, scope: Scope, *, request: OrderRequest,
                 store_id: uuid.UUID | None = None) -> Placed:
    """A consumer buys from a store (their home store unless they choose another)."""
    require(scope, Action.place_retail_order)
    digest = request.digest(store_id=store_id)
    # Entered before the first statement, the system scope is set once, at BEGIN.
    with elevated(session, Why.reserve_seller_stock, scope=system_scope(scope.tenant_id)):
        store = org_by_id(session, scope.tenant_id, store_id) if store_id else _home_store(session, scope)
        if store is None or store.kind is not OrgKind.store or not store.active:
            raise InvalidSeller("Retail orders are placed at an active store.")
        return _place(session, scope, flow=OrderFlow.retail, seller=store, buyer_org=None,
                      consumer_id=scope.consumer_id, request=request, digest=digest)


def _home_store(session: Session, scope: Scope) -> Org | None:
    """The consumer's home store: the request's authentication loaded both rows into the session,
    so these are identity-map hits, not statements (a caller without that pays two look-ups)."""
    consumer = session.get(Consumer, (scope.tenant_id, scope.consumer_id))
    return org_by_id(session, scope.tenant_id, consumer.home_store_id) if consumer else None


def place_in_store(session: Session, scope: Scope, *, member_id: uuid.UUID, request: OrderRequest) -> Placed:
    """A guide sells at their store to a member (a consumer the store sees); a key sells unguided."""
    require(scope, Action.sell_in_store)
    member = get_visible(session, Consumer, scope, member_id)
    digest = request.digest(member_id=member_id)
    with elevated(session, Why.reserve_seller_stock, scope=system_scope(scope.tenant_id)):
        store = org_by_id(session, scope.tenant_id, scope.org_id)
        if store is None or store.kind is not OrgKind.store:
            raise InvalidSeller("In-store retail is placed by the staff of a store.")
        return _place(session, scope, flow=OrderFlow.retail, seller=store, buyer_org=None,
                      consumer_id=member.id, request=request, digest=digest,
                      guide_id=scope.actor_id if scope.actor_kind is ActorKind.staff else None)


def place_supply_order(session: Session, scope: Scope, *, request: OrderRequest) -> Placed:
    """My org buys from its parent: replenish for a store, purchase for a distributor."""
    require(scope, Action.place_supply_order)
    digest = request.digest()
    with elevated(session, Why.reserve_seller_stock, scope=system_scope(scope.tenant_id)):
        buyer = org_by_id(session, scope.tenant_id, scope.org_id)
        if buyer is None or buyer.parent_id is None:
            raise InvalidSeller("The brand has no parent to buy from.")
        seller = org_by_id(session, scope.tenant_id, buyer.parent_id)
        flow = OrderFlow.replenish if buyer.kind is OrgKind.store else OrderFlow.purchase
        return _place(session, scope, flow=flow, seller=seller, buyer_org=buyer, consumer_id=None,
                      request=request, digest=digest)


def _place(session: Session, scope: Scope, *, flow: OrderFlow, seller: Org, buyer_org: Org | None,
           consumer_id: uuid.UUID | None, request: OrderRequest, digest: str,
           guide_id: uuid.UUID | None = None) -> Placed:
    """Quote, write the order (the idempotency key claims it), reserve stock, record order.placed."""
    if not request.lines and request.idempotency_key:  # a replayed cart checkout, the cart now empty
        return _replay(_by_key(session, scope, request.idempotency_key), digest)
    sku_qty = _requested(request.lines)
    invoice = invoices.invoice_fields(request.invoice, b2b=flow is not OrderFlow.retail)
    currency, settings, tax_rate = _terms(session, seller.tenant_id)
    try:
        prices = _quote(session, seller=seller, buyer_org=buyer_org, sku_ids=[s for s, _ in sku_qty])
    except DomainError:  # no longer on sale: a replay still answers the order it made
        existing = _by_key(session, scope, request.idempotency_key) if request.idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, digest)
    priced = rules.price_lines([(prices[sku_id], qty) for sku_id, qty in sku_qty])
    if request.delivery == "ship" and flow is OrderFlow.retail and not request.ship_to:
        raise InvalidOrder("A retail order to ship needs an address (ship_to).")
    shipping = rules.shipping_fee(sum(line.goods_minor for line in priced), delivery=request.delivery,
                                  settings=settings) if flow is OrderFlow.retail else 0
    member = _member_pricing(session, flow, seller, consumer_id, request, sku_qty, prices, priced, shipping)
    priced, shipping = member.lines, member.shipping_minor
    totals = rules.totals(priced, shipping)
    owner = buyer_org or seller
    columns = {"owner_path": owner.path, "seller_path": seller.path,
               "buyer_consumer_id": consumer_id}
    now = utcnow()
    order = Order(
        tenant_id=seller.tenant_id, id=uuid7(), flow=flow, status=OrderStatus.pending_payment,
        seller_org_id=seller.id, buyer_org_id=buyer_org.id if buyer_org else None, guide_id=guide_id,
        currency=currency, goods_minor=totals.goods_minor, discount_minor=totals.discount_minor,
        shipping_minor=totals.shipping_minor, total_minor=totals.total_minor, refunded_minor=0,
        refund_claimed_minor=0,
        payment_method=request.payment_method, payment_ref=None, delivery=request.delivery,
        ship_to=request.ship_to, note=request.note, placed_by_kind=scope.actor_kind,
        placed_by_id=scope.actor_id, idempotency_key=request.idempotency_key,
        request_hash=digest if request.idempotency_key else None, paid_at=None, shipped_at=None,
        completed_at=None, cancelled_at=None, closed_at=None, cancel_reason=None, created_at=now,
        updated_at=now,  # every column set: none left expired to reload after the INSERT
        **invoice, **columns)
    if not _claim(session, order):  # this actor already used the key: answer what it made
        return _replay(_by_key(session, scope, request.idempotency_key), digest)
    names = _sku_names(session, order.tenant_id, [sku_id for sku_id, _ in sku_qty])
    lines = [OrderLine(tenant_id=order.tenant_id, id=uuid7(), order_id=order.id, line_no=number,
                       sku_id=sku_id, sku_code=names.get(sku_id, _UNNAMED)[0],
                       name=names.get(sku_id, _UNNAMED)[1], unit_price_minor=line.unit_price_minor,
                       qty=line.qty, goods_minor=line.goods_minor, discount_minor=line.discount_minor,
                       total_minor=line.total_minor, shipped_qty=0, released_qty=0, refunded_qty=0,
                       refunded_minor=0, claimed_qty=0, claimed_minor=0, **columns,
                       **_tax(line.total_minor, names.get(sku_id, _UNNAMED)[2], tax_rate))
             for number, ((sku_id, _), line) in enumerate(zip(sku_qty, priced, strict=True), start=1)]
    insert_loaded(session, OrderLine, lines)  # one executemany, no unit-of-work bookkeeping
    member.record(session, order, lines)  # coupon used, points spent, adjustments stored
    snapshot_commissions(session, order, lines)  # distribution: chain, rates and base, fixed now
    stock_moves.apply(session, verb="reserve", tenant_id=order.tenant_id, org_id=seller.id,
                      moves=sku_qty, order_id=order.id)
    record_placed(session, order, actor_of(scope), now=now)
    events.emit(session, order, "order.placed", events.order_payload(order, lines))
    session.flush()
    return Placed(order, True, lines)


def _member_pricing(session, flow, seller, consumer_id, request, sku_qty, prices, priced, shipping):
    """Retail: the membership waterfall (level, coupon, points, free shipping); others pay the tier price."""
    from app.membership import checkout  # noqa: PLC0415

    if flow is not OrderFlow.retail:
        return checkout.neutral(priced, shipping)
    return checkout.price(session, seller=seller, consumer_id=consumer_id, sku_qty=sku_qty,
                          unit_prices=prices,
                          shipping_fee_minor=shipping, coupon_id=request.coupon_id, points=request.points,
                          mall_item_id=request.mall_item_id)


def _claim(session: Session, order: Order) -> bool:
    """INSERT the order unless the actor's Idempotency-Key is taken (ON CONFLICT DO NOTHING).

    One statement instead of a look-up plus a savepoint; a concurrent twin waits for the first
    to commit and then finds its order.
    """
    values = {column.key: getattr(order, column.key) for column in Order.__table__.columns}
    statement = _claim_statement(session.get_bind().dialect.name, keyed=order.idempotency_key is not None)
    if session.execute(statement, values).first() is None:
        return False
    make_transient_to_detached(order)
    session.add(order)
    return True


@functools.cache
def _claim_statement(dialect_name: str, *, keyed: bool):
    """Built once (values are bound at execution): checkout runs it on every order."""
    table = Order.__table__
    if not keyed:
        return table.insert().returning(table.c.id)
    key = ["tenant_id", "placed_by_id", "idempotency_key"]
    return insert_or_ignore_for(dialect_name, table, conflict_on=key).returning(table.c.id)


_UNNAMED = (None, None, None)


def _tax(total_minor: int, sku_rate: int | None, default_rate: int) -> dict:
    """The line's VAT rate (the SKU's, else the tenant's) and the tax inside its paid total."""
    rate = default_rate if sku_rate is None else sku_rate
    return {"tax_rate_bp": rate, "tax_minor": invoices.tax_included(total_minor, rate)}


def _terms(session: Session, tenant_id: uuid.UUID) -> tuple[str, dict, int]:
    """The tenant's currency, order settings and default VAT rate (cached for a minute)."""
    def load():
        tenant = session.get(Tenant, tenant_id)
        settings = tenant.settings or {}
        return tenant.currency, settings.get("orders", {}), invoices.default_rate(settings)

    return _TENANT_TERMS.get(tenant_id, load)


def _requested(lines: list[dict]) -> list[tuple[uuid.UUID, int]]:
    if not lines:
        raise InvalidOrder("An order needs at least one line.")
    if len(lines) > MAX_LINES:
        raise InvalidOrder(f"An order has at most {MAX_LINES} lines.")
    sku_qty = [(line["sku_id"], int(line["qty"])) for line in lines]
    if len({sku for sku, _ in sku_qty}) != len(sku_qty):
        raise InvalidOrder("Each SKU may appear once; add up the quantities.")
    if any(qty <= 0 for _, qty in sku_qty):
        raise InvalidOrder("Quantities must be positive.")
    return sku_qty


def _quote(session: Session, *, seller: Org, buyer_org: Org | None,
           sku_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    from app.catalog.pricing import quote  # noqa: PLC0415

    return quote(session, tenant_id=seller.tenant_id, seller=seller, buyer_org=buyer_org, sku_ids=sku_ids)


def has_key(session: Session, scope: Scope, key: str) -> bool:
    return _by_key(session, scope, key) is not None


def _sku_names(session: Session, tenant_id: uuid.UUID,
               sku_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str, int | None]]:
    """Code, name and VAT rate of each SKU, snapshotted on the line (cached for a few minutes)."""
    from app.catalog.models import Sku  # noqa: PLC0415

    def load(keys):
        rows = session.execute(select(Sku.id, Sku.code, Sku.name, Sku.tax_rate_bp).where(
            Sku.tenant_id == tenant_id, Sku.id.in_([sku_id for _, sku_id in keys])))
        return {(tenant_id, sku_id): (code, name, rate) for sku_id, code, name, rate in rows}

    found = _SKU_NAMES.get_many([(tenant_id, sku_id) for sku_id in sku_ids], load)
    return {sku_id: value for (_, sku_id), value in found.items()}


def _by_key(session: Session, scope: Scope, key: str) -> Order | None:
    return session.scalar(select(Order).where(
        Order.tenant_id == scope.tenant_id, Order.placed_by_id == scope.actor_id,
        Order.idempotency_key == key))


def _replay(order: Order | None, digest: str) -> Placed:
    if order is None:
        raise NotFound("The order for this Idempotency-Key is not visible.")
    if order.request_hash != digest:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    return Placed(order, False)
