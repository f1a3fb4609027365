"""orders: one order model for three flows, lines, history, shipments, refunds, cart

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:26:07.212773
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.tenancy import rls
from app.tenancy.enums import Dataset

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cart_items',
    sa.Column('consumer_id', sa.Uuid(), nullable=False),
    sa.Column('store_id', sa.Uuid(), nullable=False),
    sa.Column('sku_id', sa.Uuid(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('qty > 0', name=op.f('ck_cart_items_qty_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'consumer_id'], ['consumers.tenant_id', 'consumers.id'], name=op.f('fk_cart_items_tenant_id_consumer_id_consumers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'store_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_cart_items_tenant_id_store_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_cart_items_tenant_id_sku_id_skus'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_cart_items')),
    sa.UniqueConstraint('tenant_id', 'consumer_id', 'store_id', 'sku_id', name=op.f('uq_cart_items_tenant_id_consumer_id_store_id_sku_id'))
    )
    op.create_table('orders',
    sa.Column('flow', sa.Enum('purchase', 'replenish', 'retail', name='orderflow', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('pending_payment', 'paid', 'shipped', 'completed', 'cancelled', name='orderstatus', native_enum=False, length=24), nullable=False),
    sa.Column('seller_org_id', sa.Uuid(), nullable=False),
    sa.Column('buyer_org_id', sa.Uuid(), nullable=True),
    sa.Column('guide_id', sa.Uuid(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('goods_minor', sa.BigInteger(), nullable=False),
    sa.Column('discount_minor', sa.BigInteger(), nullable=False),
    sa.Column('shipping_minor', sa.BigInteger(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('payment_method', sa.Enum('stripe', 'offline', 'credit', name='paymentmethod', native_enum=False, length=20), nullable=True),
    sa.Column('payment_ref', sa.String(length=255), nullable=True),
    sa.Column('delivery', sa.String(length=20), nullable=False),
    sa.Column('ship_to', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('placed_by_kind', sa.Enum('staff', 'api_key', 'consumer', 'system', name='actorkind', native_enum=False, length=20), nullable=False),
    sa.Column('placed_by_id', sa.Uuid(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=40), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(buyer_org_id IS NULL) <> (buyer_consumer_id IS NULL)', name=op.f('ck_orders_one_buyer')),
    sa.CheckConstraint('goods_minor >= 0 AND discount_minor >= 0 AND shipping_minor >= 0 AND discount_minor <= goods_minor AND refunded_minor <= total_minor', name=op.f('ck_orders_amounts_sane')),
    sa.CheckConstraint('total_minor = goods_minor - discount_minor + shipping_minor', name=op.f('ck_orders_totals_tie')),
    sa.ForeignKeyConstraint(['tenant_id', 'buyer_consumer_id'], ['consumers.tenant_id', 'consumers.id'], name=op.f('fk_orders_tenant_id_buyer_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['tenant_id', 'buyer_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_orders_tenant_id_buyer_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'guide_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_orders_tenant_id_guide_id_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'seller_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_orders_tenant_id_seller_org_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_orders')),
    sa.UniqueConstraint('tenant_id', 'placed_by_id', 'idempotency_key', name=op.f('uq_orders_tenant_id_placed_by_id_idempotency_key'))
    )
    op.create_index('ix_orders_consumer', 'orders', ['tenant_id', 'buyer_consumer_id', 'created_at'], unique=False)
    op.create_index('ix_orders_due', 'orders', ['tenant_id', 'status', 'created_at'], unique=False)
    op.create_index('ix_orders_owner', 'orders', ['tenant_id', 'owner_path', 'created_at'], unique=False)
    op.create_index('ix_orders_seller', 'orders', ['tenant_id', 'seller_path', 'created_at'], unique=False)
    op.create_table('order_history',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('refund_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('actor_kind', sa.Enum('staff', 'api_key', 'consumer', 'system', name='actorkind', native_enum=False, length=20), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_order_history_tenant_id_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_order_history'))
    )
    op.create_index('ix_order_history_order', 'order_history', ['tenant_id', 'order_id', 'created_at'], unique=False)
    op.create_table('order_lines',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Uuid(), nullable=False),
    sa.Column('sku_code', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('unit_price_minor', sa.BigInteger(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('goods_minor', sa.BigInteger(), nullable=False),
    sa.Column('discount_minor', sa.BigInteger(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('shipped_qty', sa.Integer(), nullable=False),
    sa.Column('released_qty', sa.Integer(), nullable=False),
    sa.Column('refunded_qty', sa.Integer(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.CheckConstraint('qty > 0 AND shipped_qty >= 0 AND released_qty >= 0 AND refunded_qty >= 0 AND shipped_qty + released_qty <= qty AND refunded_qty <= qty', name=op.f('ck_order_lines_quantities_sane')),
    sa.CheckConstraint('total_minor = goods_minor - discount_minor AND refunded_minor <= total_minor', name=op.f('ck_order_lines_amounts_tie')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_order_lines_tenant_id_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_order_lines_tenant_id_sku_id_skus')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_order_lines'))
    )
    op.create_index('ix_order_lines_order', 'order_lines', ['tenant_id', 'order_id'], unique=False)
    op.create_table('refunds',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('refund_only', 'return_and_refund', name='refundkind', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('refund_requested', 'refund_approved', 'refund_rejected', 'refunded', name='refundstatus', native_enum=False, length=24), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('decision_note', sa.String(length=500), nullable=True),
    sa.Column('requested_by_kind', sa.Enum('staff', 'api_key', 'consumer', 'system', name='actorkind', native_enum=False, length=20), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gateway_ref', sa.String(length=255), nullable=True),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_refunds_tenant_id_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_refunds'))
    )
    op.create_index('ix_refunds_order', 'refunds', ['tenant_id', 'order_id'], unique=False)
    op.create_index('ix_refunds_seller', 'refunds', ['tenant_id', 'seller_path', 'status'], unique=False)
    op.create_table('shipments',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('carrier', sa.String(length=64), nullable=False),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('lines', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('shipped_by', sa.Uuid(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_shipments_tenant_id_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_shipments'))
    )
    op.create_index('ix_shipments_order', 'shipments', ['tenant_id', 'order_id'], unique=False)
    op.create_table('refund_lines',
    sa.Column('refund_id', sa.Uuid(), nullable=False),
    sa.Column('order_line_id', sa.Uuid(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.CheckConstraint('qty >= 0 AND amount_minor >= 0', name=op.f('ck_refund_lines_non_negative')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_line_id'], ['order_lines.tenant_id', 'order_lines.id'], name=op.f('fk_refund_lines_tenant_id_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'refund_id'], ['refunds.tenant_id', 'refunds.id'], name=op.f('fk_refund_lines_tenant_id_refund_id_refunds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_refund_lines')),
    sa.UniqueConstraint('tenant_id', 'refund_id', 'order_line_id', name=op.f('uq_refund_lines_tenant_id_refund_id_order_line_id'))
    )
    for table, column in PATH_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(
                f"{column}_shape", f"{column} LIKE '/%/' AND {column} NOT LIKE '%~%'"
            )
    if op.get_bind().dialect.name == "postgresql":
        for table, predicate in POLICIES.items():
            for statement in rls.enable_rls_sql(table, predicate):
                op.execute(statement)


ORDER_TABLES = ["orders", "order_lines", "order_history", "shipments", "refunds", "refund_lines"]

PATH_COLUMNS = [(table, column) for table in ORDER_TABLES for column in ("owner_path", "seller_path")]
PATH_COLUMNS.append(("cart_items", "owner_path"))

# An order is owned by the buyer org (the store for retail) and also visible to the seller's
# subtree: the subtree range on owner_path or on seller_path, widening grants, the buying consumer.
SELLER_SIDE = (
    "(tenant_id = tm_tenant() AND seller_path >= tm_setting('app.org_path')"
    " AND seller_path < tm_setting('app.org_path') || '~')"
)
ORDER_PREDICATE = (
    f"({rls.subtree_predicate('owner_path', Dataset.orders, 'buyer_consumer_id')}) OR {SELLER_SIDE}"
)

POLICIES = {table: ORDER_PREDICATE for table in ORDER_TABLES}
POLICIES["cart_items"] = rls.subtree_predicate("owner_path", Dataset.orders, "consumer_id")


def downgrade():
    op.drop_table('refund_lines')
    op.drop_index('ix_shipments_order', table_name='shipments')
    op.drop_table('shipments')
    op.drop_index('ix_refunds_seller', table_name='refunds')
    op.drop_index('ix_refunds_order', table_name='refunds')
    op.drop_table('refunds')
    op.drop_index('ix_order_lines_order', table_name='order_lines')
    op.drop_table('order_lines')
    op.drop_index('ix_order_history_order', table_name='order_history')
    op.drop_table('order_history')
    op.drop_index('ix_orders_seller', table_name='orders')
    op.drop_index('ix_orders_owner', table_name='orders')
    op.drop_index('ix_orders_due', table_name='orders')
    op.drop_index('ix_orders_consumer', table_name='orders')
    op.drop_table('orders')
    op.drop_table('cart_items')
