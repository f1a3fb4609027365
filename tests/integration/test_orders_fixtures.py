"""Shared builders for the order tests: a stocked, priced catalog and placed orders (no tests here)."""

from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.catalog import stock
from app.catalog.models import (
    PriceChannel,
    PriceEntry,
    Product,
    Sku,
    StockLevel,
    StockMovement,
    StoreAssortment,
)
from app.db import utcnow, uuid7
from app.orders.payment_hooks import mark_paid
from app.orders.placement import OrderRequest, place_retail, place_supply_order
from app.tenancy.enums import OrgKind
from app.tenancy.scope import system_scope
from tests.factories import Net
from tests.support.scope import use_scope

RETAIL_PRICE = 12800
SUPPLY_PRICE = 7000
ADDRESS = {"name": "王小明", "phone": "13800138000", "address": "上海市静安区南京西路 1 号"}


@dataclass
class Catalog:
    skus: list[Sku] = field(default_factory=list)

    @property
    def sku_ids(self):
        return [sku.id for sku in self.skus]


def stocked_catalog(session, net: Net, *, skus: int = 3, on_hand: int = 100,
                    price: int = RETAIL_PRICE, supply: int = SUPPLY_PRICE) -> Catalog:
    """SKUs with a brand retail price, a supply price from every non-store, stock everywhere."""
    use_scope(session, system_scope(net.tenant.id))
    brand = net.org("brand")
    catalog = Catalog()
    product = Product(tenant_id=net.tenant.id, id=uuid7(), owner_path=brand.path, name="Longjing tea")
    session.add(product)
    session.flush()
    for number in range(skus):
        code = f"TEA-{uuid7().hex[-8:]}-{number}"
        sku = Sku(tenant_id=net.tenant.id, id=uuid7(), owner_path=brand.path, product_id=product.id,
                  code=code, name=f"Longjing {number + 1}")
        session.add(sku)
        catalog.skus.append(sku)
    session.flush()
    now = utcnow()
    for sku in catalog.skus:
        session.add(PriceEntry(tenant_id=net.tenant.id, id=uuid7(), owner_path=brand.path,
                               seller_org_id=brand.id, sku_id=sku.id, channel=PriceChannel.retail,
                               amount_minor=price, effective_from=now))
        for org in net.orgs.values():
            if org.kind is not OrgKind.store:
                session.add(PriceEntry(tenant_id=net.tenant.id, id=uuid7(), owner_path=org.path,
                                       seller_org_id=org.id, sku_id=sku.id, channel=PriceChannel.supply,
                                       amount_minor=supply, effective_from=now))
            else:
                session.add(StoreAssortment(tenant_id=net.tenant.id, id=uuid7(), owner_path=org.path,
                                            store_id=org.id, sku_id=sku.id))
    session.flush()
    for sku in catalog.skus:
        for org in net.orgs.values():
            stock.add_initial(session, tenant_id=net.tenant.id, org=org, sku_id=sku.id, qty=on_hand)
    session.flush()
    return catalog


def level(session, net: Net, org_key: str, sku_id) -> tuple[int, int]:
    """(on_hand, reserved) of a SKU at an org, read as the system."""
    use_scope(session, system_scope(net.tenant.id))
    row = session.execute(select(StockLevel.on_hand, StockLevel.reserved).where(
        StockLevel.tenant_id == net.tenant.id, StockLevel.org_id == net.org(org_key).id,
        StockLevel.sku_id == sku_id).execution_options(populate_existing=True)).one()
    return row.on_hand, row.reserved


def movements_sum(session, net: Net, org_key: str, sku_id) -> tuple[int, int]:
    use_scope(session, system_scope(net.tenant.id))
    row = session.execute(select(func.coalesce(func.sum(StockMovement.qty), 0),
                                 func.coalesce(func.sum(StockMovement.reserved_delta), 0)).where(
        StockMovement.tenant_id == net.tenant.id, StockMovement.org_id == net.org(org_key).id,
        StockMovement.sku_id == sku_id)).one()
    return int(row[0]), int(row[1])


def lines(catalog: Catalog, *qtys: int) -> list[dict]:
    return [{"sku_id": sku_id, "qty": qty} for sku_id, qty in zip(catalog.sku_ids, qtys, strict=False)]


def retail_order(session, scope, catalog: Catalog, *qtys: int, store_id=None, key=None, **request):
    request.setdefault("ship_to", ADDRESS)
    return place_retail(session, scope, store_id=store_id,
                        request=OrderRequest(lines=lines(catalog, *(qtys or (1,))), idempotency_key=key,
                                        **request))


def supply_order(session, scope, catalog: Catalog, *qtys: int, key=None, **request):
    wanted = OrderRequest(lines=lines(catalog, *(qtys or (1,))), idempotency_key=key, **request)
    return place_supply_order(session, scope, request=wanted)


def pay(session, order):
    """What the payments module does when the money arrives (system scope)."""
    use_scope(session, system_scope(order.tenant_id))
    return mark_paid(session, tenant_id=order.tenant_id, order_id=order.id, amount_minor=order.total_minor,
                     payment_ref=f"pi_{order.id.hex[:12]}", method="offline")
