"""Catalog (categories, products, SKUs), tier price lists and bands, assortments, stock per org."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import (
    Base,
    CreatedAtMixin,
    JsonType,
    OwnerPathMixin,
    TenantKeyMixin,
    UtcDateTime,
    path_column,
    str_enum,
    utcnow,
)
from app.tenancy.enums import Dataset, OrgKind
from app.tenancy.models import tenant_fk


class ShelfStatus(StrEnum):
    on_shelf = "on_shelf"
    off_shelf = "off_shelf"


class PriceChannel(StrEnum):
    """supply: an org sells to an org below it; retail: a store (or the brand) sells to consumers."""

    supply = "supply"
    retail = "retail"


class StockReason(StrEnum):
    initial = "initial"
    reserve = "reserve"
    release = "release"
    ship = "ship"
    receive = "receive"
    restock = "restock"
    return_out = "return_out"  # returned goods leave the buyer org that had received them
    adjust = "adjust"


class Category(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A node of the brand's category tree; tree_path is the ids from the root category."""

    __tablename__ = "categories"
    __dataset__ = Dataset.catalog
    __rls__ = "tenant"
    __table_args__ = (
        tenant_fk(["parent_id"], "categories"),
        UniqueConstraint("tenant_id", "tree_path"),
    )

    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(120))
    tree_path: Mapped[str] = path_column("tree_path")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Product(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A brand-defined product; SKUs are its sellable variants."""

    __tablename__ = "products"
    __dataset__ = Dataset.catalog
    __rls__ = "tenant"
    __table_args__ = (
        tenant_fk(["category_id"], "categories"),
        Index("ix_products_listing", "tenant_id", "status", "category_id"),
    )

    category_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    image_urls: Mapped[list] = mapped_column(JsonType, default=list)
    attributes: Mapped[dict] = mapped_column(JsonType, default=dict)
    status: Mapped[ShelfStatus] = mapped_column(str_enum(ShelfStatus), default=ShelfStatus.on_shelf)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Sku(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A sellable variant of a product (e.g. 250 g tin); barcode and code unique per tenant."""

    __tablename__ = "skus"
    __dataset__ = Dataset.catalog
    __rls__ = "tenant"
    __table_args__ = (
        tenant_fk(["product_id"], "products"),
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "barcode"),
        Index("ix_skus_product", "tenant_id", "product_id"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    barcode: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict] = mapped_column(JsonType, default=dict)
    image_url: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[ShelfStatus] = mapped_column(str_enum(ShelfStatus), default=ShelfStatus.on_shelf)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    # finance (invoices): VAT in basis points (1300 = 13%); None = the tenant's default rate
    tax_rate_bp: Mapped[int | None] = mapped_column(Integer)


class PriceBand(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """The brand's floor and optional ceiling (控价) for a SKU's supply or retail prices."""

    __tablename__ = "price_bands"
    __dataset__ = Dataset.catalog
    __rls__ = "downward"
    __table_args__ = (
        tenant_fk(["sku_id"], "skus"),
        CheckConstraint("floor_minor >= 0", name="floor_not_negative"),
        CheckConstraint("ceiling_minor IS NULL OR ceiling_minor >= floor_minor",
                        name="ceiling_above_floor"),
        CheckConstraint("effective_to IS NULL OR effective_to > effective_from",
                        name="effective_range"),
        Index("ix_price_bands_lookup", "tenant_id", "sku_id", "channel", "effective_from"),
    )

    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[PriceChannel] = mapped_column(str_enum(PriceChannel))
    floor_minor: Mapped[int] = mapped_column(BigInteger)
    ceiling_minor: Mapped[int | None] = mapped_column(BigInteger)
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime)
    effective_to: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PriceEntry(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """One price a seller org asks for a SKU, for all buyers or a narrower audience.

    Audience (all optional, most specific wins): buyer_org_id (one org), buyer_depth (a
    distributor level), buyer_kind (stores vs sub-distributors). Retail entries have none.
    owner_path is the seller's path, or the buyer's for a per-buyer override, so that a
    sibling never sees another org's special price.
    """

    __tablename__ = "price_entries"
    __dataset__ = Dataset.catalog
    __rls__ = "downward"
    __table_args__ = (
        tenant_fk(["seller_org_id"], "orgs"),
        tenant_fk(["buyer_org_id"], "orgs"),
        tenant_fk(["sku_id"], "skus"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        CheckConstraint("effective_to IS NULL OR effective_to > effective_from",
                        name="effective_range"),
        Index("ix_price_entries_lookup", "tenant_id", "seller_org_id", "channel", "sku_id"),
        Index("ix_price_entries_scope", "tenant_id", "owner_path"),
    )

    seller_org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[PriceChannel] = mapped_column(str_enum(PriceChannel))
    buyer_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    buyer_depth: Mapped[int | None] = mapped_column(Integer)
    buyer_kind: Mapped[OrgKind | None] = mapped_column(str_enum(OrgKind))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime)
    effective_to: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class StoreAssortment(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """A SKU a store chose to sell."""

    __tablename__ = "store_assortments"
    __dataset__ = Dataset.catalog
    __table_args__ = (
        tenant_fk(["store_id"], "orgs"),
        tenant_fk(["sku_id"], "skus"),
        UniqueConstraint("tenant_id", "store_id", "sku_id"),
        Index("ix_store_assortments_scope", "tenant_id", "owner_path"),
    )

    store_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class StockLevel(TenantKeyMixin, OwnerPathMixin, Base):
    """What one org holds of one SKU; every change is mirrored by a StockMovement."""

    __tablename__ = "stock_levels"
    __dataset__ = Dataset.inventory
    __table_args__ = (
        tenant_fk(["org_id"], "orgs"),
        tenant_fk(["sku_id"], "skus"),
        UniqueConstraint("tenant_id", "org_id", "sku_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        Index("ix_stock_levels_scope", "tenant_id", "owner_path"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class StockMovement(TenantKeyMixin, OwnerPathMixin, CreatedAtMixin, Base):
    """An append-only change of one stock level: the deltas and the values after it."""

    __tablename__ = "stock_movements"
    __dataset__ = Dataset.inventory
    __table_args__ = (
        tenant_fk(["org_id"], "orgs"),
        tenant_fk(["sku_id"], "skus"),
        Index("ix_stock_movements_level", "tenant_id", "org_id", "sku_id", "created_at"),
        Index("ix_stock_movements_scope", "tenant_id", "owner_path", "created_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sku_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    reason: Mapped[StockReason] = mapped_column(str_enum(StockReason))
    qty: Mapped[int] = mapped_column(Integer)  # change of on_hand
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    reserved_after: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(String(500))
