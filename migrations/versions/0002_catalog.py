"""catalog: categories, products, SKUs, tier price lists and bands, assortments, stock per org

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:40:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.tenancy import rls
from app.tenancy.enums import Dataset

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('categories',
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('tree_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'parent_id'], ['categories.tenant_id', 'categories.id'], name=op.f('fk_categories_tenant_id_parent_id_categories')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_categories')),
    sa.UniqueConstraint('tenant_id', 'tree_path', name=op.f('uq_categories_tenant_id_tree_path'))
    )
    op.create_table('products',
    sa.Column('category_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('image_urls', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('on_shelf', 'off_shelf', name='shelfstatus', native_enum=False, length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'category_id'], ['categories.tenant_id', 'categories.id'], name=op.f('fk_products_tenant_id_category_id_categories')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_products'))
    )
    op.create_index('ix_products_listing', 'products', ['tenant_id', 'status', 'category_id'], unique=False)
    op.create_table('skus',
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('image_url', sa.String(length=1000), nullable=True),
    sa.Column('status', sa.Enum('on_shelf', 'off_shelf', name='shelfstatus', native_enum=False, length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_skus_tenant_id_product_id_products')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_skus')),
    sa.UniqueConstraint('tenant_id', 'barcode', name=op.f('uq_skus_tenant_id_barcode')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_skus_tenant_id_code'))
    )
    op.create_index('ix_skus_product', 'skus', ['tenant_id', 'product_id'], unique=False)
    op.create_table('price_bands',
    sa.Column('sku_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.Enum('supply', 'retail', name='pricechannel', native_enum=False, length=20), nullable=False),
    sa.Column('floor_minor', sa.BigInteger(), nullable=False),
    sa.Column('ceiling_minor', sa.BigInteger(), nullable=True),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('effective_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ceiling_minor IS NULL OR ceiling_minor >= floor_minor', name=op.f('ck_price_bands_ceiling_above_floor')),
    sa.CheckConstraint('effective_to IS NULL OR effective_to > effective_from', name=op.f('ck_price_bands_effective_range')),
    sa.CheckConstraint('floor_minor >= 0', name=op.f('ck_price_bands_floor_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_price_bands_tenant_id_sku_id_skus')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_price_bands'))
    )
    op.create_index('ix_price_bands_lookup', 'price_bands', ['tenant_id', 'sku_id', 'channel', 'effective_from'], unique=False)
    op.create_table('price_entries',
    sa.Column('seller_org_id', sa.Uuid(), nullable=False),
    sa.Column('sku_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.Enum('supply', 'retail', name='pricechannel', native_enum=False, length=20), nullable=False),
    sa.Column('buyer_org_id', sa.Uuid(), nullable=True),
    sa.Column('buyer_depth', sa.Integer(), nullable=True),
    sa.Column('buyer_kind', sa.Enum('brand', 'distributor', 'store', name='orgkind', native_enum=False, length=20), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('effective_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_minor >= 0', name=op.f('ck_price_entries_amount_not_negative')),
    sa.CheckConstraint('effective_to IS NULL OR effective_to > effective_from', name=op.f('ck_price_entries_effective_range')),
    sa.ForeignKeyConstraint(['tenant_id', 'buyer_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_price_entries_tenant_id_buyer_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'seller_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_price_entries_tenant_id_seller_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_price_entries_tenant_id_sku_id_skus')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_price_entries'))
    )
    op.create_index('ix_price_entries_lookup', 'price_entries', ['tenant_id', 'seller_org_id', 'channel', 'sku_id'], unique=False)
    op.create_index('ix_price_entries_scope', 'price_entries', ['tenant_id', 'owner_path'], unique=False)
    op.create_table('stock_levels',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('sku_id', sa.Uuid(), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.CheckConstraint('on_hand >= 0', name=op.f('ck_stock_levels_on_hand_not_negative')),
    sa.CheckConstraint('reserved <= on_hand', name=op.f('ck_stock_levels_reserved_within_on_hand')),
    sa.CheckConstraint('reserved >= 0', name=op.f('ck_stock_levels_reserved_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id', 'org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_stock_levels_tenant_id_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_stock_levels_tenant_id_sku_id_skus')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock_levels')),
    sa.UniqueConstraint('tenant_id', 'org_id', 'sku_id', name=op.f('uq_stock_levels_tenant_id_org_id_sku_id'))
    )
    op.create_index('ix_stock_levels_scope', 'stock_levels', ['tenant_id', 'owner_path'], unique=False)
    op.create_table('stock_movements',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('sku_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.Enum('initial', 'reserve', 'release', 'ship', 'receive', 'restock', 'adjust', name='stockreason', native_enum=False, length=20), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('reserved_delta', sa.Integer(), nullable=False),
    sa.Column('on_hand_after', sa.Integer(), nullable=False),
    sa.Column('reserved_after', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_stock_movements_tenant_id_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_stock_movements_tenant_id_sku_id_skus')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_stock_movements'))
    )
    op.create_index('ix_stock_movements_level', 'stock_movements', ['tenant_id', 'org_id', 'sku_id', 'created_at'], unique=False)
    op.create_index('ix_stock_movements_scope', 'stock_movements', ['tenant_id', 'owner_path', 'created_at'], unique=False)
    op.create_table('store_assortments',
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('sku_id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_store_assortments_tenant_id_sku_id_skus')),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_store_assortments_tenant_id_store_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_store_assortments')),
    sa.UniqueConstraint('tenant_id', 'store_id', 'sku_id', name=op.f('uq_store_assortments_tenant_id_store_id_sku_id'))
    )
    op.create_index('ix_store_assortments_scope', 'store_assortments', ['tenant_id', 'owner_path'], unique=False)

    for table, column in PATH_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(
                f"{column}_shape", f"{column} LIKE '/%/' AND {column} NOT LIKE '%~%'"
            )
    if op.get_bind().dialect.name == "postgresql":
        for table, predicate in POLICIES.items():
            for statement in rls.enable_rls_sql(table, predicate):
                op.execute(statement)


PATH_COLUMNS = [
    ("categories", "owner_path"), ("categories", "tree_path"), ("products", "owner_path"),
    ("skus", "owner_path"), ("price_bands", "owner_path"), ("price_entries", "owner_path"),
    ("store_assortments", "owner_path"), ("stock_levels", "owner_path"),
    ("stock_movements", "owner_path"),
]

# The brand's catalog is read by every org and (through the storefront) by consumers: tenant-wide.
# Price rows flow down the tree; assortments and stock follow the owning org's subtree.
POLICIES = {
    "categories": rls.PREDICATES["tenant"],
    "products": rls.PREDICATES["tenant"],
    "skus": rls.PREDICATES["tenant"],
    "price_bands": rls.PREDICATES["downward"],
    "price_entries": rls.PREDICATES["downward"],
    "store_assortments": rls.subtree_predicate("owner_path", Dataset.catalog, None),
    "stock_levels": rls.subtree_predicate("owner_path", Dataset.inventory, None),
    "stock_movements": rls.subtree_predicate("owner_path", Dataset.inventory, None),
}


def downgrade():
    op.drop_index('ix_store_assortments_scope', table_name='store_assortments')
    op.drop_table('store_assortments')
    op.drop_index('ix_stock_movements_scope', table_name='stock_movements')
    op.drop_index('ix_stock_movements_level', table_name='stock_movements')
    op.drop_table('stock_movements')
    op.drop_index('ix_stock_levels_scope', table_name='stock_levels')
    op.drop_table('stock_levels')
    op.drop_index('ix_price_entries_scope', table_name='price_entries')
    op.drop_index('ix_price_entries_lookup', table_name='price_entries')
    op.drop_table('price_entries')
    op.drop_index('ix_price_bands_lookup', table_name='price_bands')
    op.drop_table('price_bands')
    op.drop_index('ix_skus_product', table_name='skus')
    op.drop_table('skus')
    op.drop_index('ix_products_listing', table_name='products')
    op.drop_table('products')
    op.drop_table('categories')
