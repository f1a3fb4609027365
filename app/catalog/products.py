"""The brand's catalog: categories (materialised tree), products and SKUs, on/off shelf.

Catalog rows are owned by the brand and readable tenant-wide (RLS kind "tenant"): every org
and every consumer of the tenant may read them; only brand owners/admins write them.
"""

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog.access import get_catalog_row, require_brand_staff
from app.catalog.errors import DuplicateSku, InvalidCategory
from app.catalog.models import Category, Product, ShelfStatus, Sku
from app.db import uuid7
from app.paging import CursorKey, Page, paginate
from app.tenancy.permissions import Action
from app.tenancy.scope import Scope

PRODUCT_FIELDS = {"name", "description", "image_urls", "attributes", "category_id", "status"}
SKU_FIELDS = {"name", "barcode", "attributes", "image_url", "status", "code"}


# --- categories -----------------------------------------------------------------------------

def create_category(session: Session, scope: Scope, *, name: str,
                    parent_id: uuid.UUID | None = None, sort_order: int = 0) -> Category:
    """A category under `parent_id` (or at the top); its tree_path lists the ids from the top."""
    require_brand_staff(scope, Action.edit_catalog)
    prefix = "/"
    if parent_id is not None:
        prefix = _category(session, scope, parent_id).tree_path
    category_id = uuid7()
    category = Category(tenant_id=scope.tenant_id, id=category_id, owner_path=scope.org_path,
                        parent_id=parent_id, name=name, tree_path=f"{prefix}{category_id}/",
                        sort_order=sort_order)
    session.add(category)
    session.flush()
    return category


def list_categories(session: Session, scope: Scope) -> list[Category]:
    """The whole tree in depth-first order (tree_path sorts parents before children)."""
    return list(session.scalars(select(Category).where(Category.tenant_id == scope.tenant_id)
                                .order_by(Category.tree_path)))


def _category(session: Session, scope: Scope, category_id: uuid.UUID) -> Category:
    row = session.scalars(select(Category).where(
        Category.tenant_id == scope.tenant_id, Category.id == category_id)).one_or_none()
    if row is None:
        raise InvalidCategory("No category with that id.")
    return row


# --- products -------------------------------------------------------------------------------

def create_product(session: Session, scope: Scope, *, name: str, description: str | None = None,
                   category_id: uuid.UUID | None = None, image_urls: list | None = None,
                   attributes: dict | None = None,
                   status: ShelfStatus = ShelfStatus.on_shelf) -> Product:
    """A brand product (on shelf unless said otherwise)."""
    require_brand_staff(scope, Action.edit_catalog)
    if category_id is not None:
        _category(session, scope, category_id)
    product = Product(tenant_id=scope.tenant_id, id=uuid7(), owner_path=scope.org_path,
                      name=name, description=description, category_id=category_id,
                      image_urls=image_urls or [], attributes=attributes or {}, status=status)
    session.add(product)
    session.flush()
    return product


def update_product(session: Session, scope: Scope, *, product_id: uuid.UUID, **changes) -> Product:
    """Change a product's fields (name, description, images, attributes, category, status)."""
    require_brand_staff(scope, Action.edit_catalog)
    product = get_catalog_row(session, Product, scope, product_id)
    unknown = set(changes) - PRODUCT_FIELDS
    if unknown:
        raise ValueError(f"unknown product fields {sorted(unknown)}")
    if changes.get("category_id") is not None:
        _category(session, scope, changes["category_id"])
    for name, value in changes.items():
        setattr(product, name, value)
    session.flush()
    return product


def list_products(session: Session, scope: Scope, *, category_id: uuid.UUID | None = None,
                  status: ShelfStatus | None = None, q: str | None = None,
                  limit: int = 50, cursor: CursorKey | None = None) -> Page[Product]:
    """Products of the tenant, filtered; a category includes its sub-categories."""
    statement = select(Product).where(Product.tenant_id == scope.tenant_id)
    if category_id is not None:
        root = _category(session, scope, category_id).tree_path
        below = select(Category.id).where(Category.tenant_id == scope.tenant_id,
                                          Category.tree_path >= root,
                                          Category.tree_path < root + "~")
        statement = statement.where(Product.category_id.in_(below))
    if status is not None:
        statement = statement.where(Product.status == status)
    if q:
        statement = statement.where(func.lower(Product.name).contains(q.lower(), autoescape=True))
    return paginate(session, statement, Product, limit=limit, cursor=cursor)


def get_product(session: Session, scope: Scope, product_id: uuid.UUID) -> Product:
    return get_catalog_row(session, Product, scope, product_id)


# --- SKUs -----------------------------------------------------------------------------------

def create_sku(session: Session, scope: Scope, *, product_id: uuid.UUID, code: str, name: str,
               barcode: str | None = None, attributes: dict | None = None,
               image_url: str | None = None, status: ShelfStatus = ShelfStatus.on_shelf) -> Sku:
    """A sellable variant of a product; code and barcode are unique in the tenant."""
    require_brand_staff(scope, Action.edit_catalog)
    get_catalog_row(session, Product, scope, product_id)
    _refuse_duplicates(session, scope, code=code, barcode=barcode)
    sku = Sku(tenant_id=scope.tenant_id, id=uuid7(), owner_path=scope.org_path,
              product_id=product_id, code=code, name=name, barcode=barcode,
              attributes=attributes or {}, image_url=image_url, status=status)
    session.add(sku)
    session.flush()
    return sku


def update_sku(session: Session, scope: Scope, *, sku_id: uuid.UUID, **changes) -> Sku:
    """Change a SKU's fields (name, code, barcode, attributes, image, status)."""
    require_brand_staff(scope, Action.edit_catalog)
    sku = get_catalog_row(session, Sku, scope, sku_id)
    unknown = set(changes) - SKU_FIELDS
    if unknown:
        raise ValueError(f"unknown SKU fields {sorted(unknown)}")
    _refuse_duplicates(session, scope, code=changes.get("code"), barcode=changes.get("barcode"),
                       except_id=sku.id)
    for name, value in changes.items():
        setattr(sku, name, value)
    session.flush()
    return sku


def list_skus(session: Session, scope: Scope, *, product_id: uuid.UUID | None = None,
              status: ShelfStatus | None = None, barcode: str | None = None,
              limit: int = 50, cursor: CursorKey | None = None) -> Page[Sku]:
    """SKUs of the tenant, newest first, filtered by product, status or barcode."""
    statement = select(Sku).where(Sku.tenant_id == scope.tenant_id)
    if product_id is not None:
        statement = statement.where(Sku.product_id == product_id)
    if status is not None:
        statement = statement.where(Sku.status == status)
    if barcode is not None:
        statement = statement.where(Sku.barcode == barcode)
    return paginate(session, statement, Sku, limit=limit, cursor=cursor)


def get_sku(session: Session, scope: Scope, sku_id: uuid.UUID) -> Sku:
    return get_catalog_row(session, Sku, scope, sku_id)


def _refuse_duplicates(session: Session, scope: Scope, *, code: str | None,
                       barcode: str | None, except_id: uuid.UUID | None = None) -> None:
    for column, value in ((Sku.code, code), (Sku.barcode, barcode)):
        if value is None:
            continue
        statement = select(Sku.id).where(Sku.tenant_id == scope.tenant_id, column == value)
        if except_id is not None:
            statement = statement.where(Sku.id != except_id)
        if session.scalar(statement) is not None:
            raise DuplicateSku(f"Another SKU already has {column.key} {value!r}.")
