"""membership checkout: coupon templates, coupons, issuance jobs, order adjustments, points-mall items

Each new table gets its read and write policies from app.tenancy.rls.TABLE_POLICIES and the
trigger that keeps tenant ids and paths unchangeable outside the system scope (as 0009 does).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:45:28.336742
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.tenancy import rls

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coupon_templates',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('amount_off', 'percent_off', 'no_threshold', name='couponkind', native_enum=False, length=20), nullable=False),
    sa.Column('amount_off_minor', sa.BigInteger(), nullable=False),
    sa.Column('percent_off_bp', sa.Integer(), nullable=False),
    sa.Column('max_off_minor', sa.BigInteger(), nullable=True),
    sa.Column('min_goods_minor', sa.BigInteger(), nullable=False),
    sa.Column('applies_to', sa.Enum('all', 'category', 'skus', name='couponscope', native_enum=False, length=20), nullable=False),
    sa.Column('category_id', sa.Uuid(), nullable=True),
    sa.Column('sku_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('store_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('per_member_limit', sa.Integer(), nullable=False),
    sa.Column('total_quantity', sa.Integer(), nullable=True),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.Column('claimable', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(valid_days IS NULL) <> (valid_to IS NULL)', name=op.f('ck_coupon_templates_one_validity')),
    sa.CheckConstraint('amount_off_minor >= 0 AND min_goods_minor >= 0 AND percent_off_bp >= 0 AND percent_off_bp <= 10000', name=op.f('ck_coupon_templates_terms_sane')),
    sa.CheckConstraint('issued_count >= 0 AND per_member_limit >= 1', name=op.f('ck_coupon_templates_counts_sane')),
    sa.CheckConstraint('total_quantity IS NULL OR issued_count <= total_quantity', name=op.f('ck_coupon_templates_within_quantity')),
    sa.ForeignKeyConstraint(['tenant_id', 'category_id'], ['categories.tenant_id', 'categories.id'], name=op.f('fk_coupon_templates_tenant_id_category_id_categories')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_coupon_templates'))
    )
    op.create_table('coupon_issue_jobs',
    sa.Column('template_id', sa.Uuid(), nullable=False),
    sa.Column('segment', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='issuejobstatus', native_enum=False, length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('requested_by', sa.Uuid(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('done >= 0 AND issued >= 0 AND issued <= done', name=op.f('ck_coupon_issue_jobs_progress_sane')),
    sa.ForeignKeyConstraint(['tenant_id', 'template_id'], ['coupon_templates.tenant_id', 'coupon_templates.id'], name=op.f('fk_coupon_issue_jobs_tenant_id_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_coupon_issue_jobs'))
    )
    op.create_table('mall_items',
    sa.Column('sku_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('points_price', sa.BigInteger(), nullable=False),
    sa.Column('cash_minor', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('redeemed', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points_price > 0 AND cash_minor >= 0', name=op.f('ck_mall_items_price_sane')),
    sa.CheckConstraint('redeemed >= 0 AND redeemed <= stock', name=op.f('ck_mall_items_within_stock')),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_mall_items_tenant_id_sku_id_skus')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_mall_items'))
    )
    op.create_table('coupons',
    sa.Column('template_id', sa.Uuid(), nullable=False),
    sa.Column('consumer_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('available', 'used', 'expired', name='couponstatus', native_enum=False, length=20), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by_job_id', sa.Uuid(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'used') = (order_id IS NOT NULL)", name=op.f('ck_coupons_used_by_an_order')),
    sa.ForeignKeyConstraint(['tenant_id', 'consumer_id'], ['consumers.tenant_id', 'consumers.id'], name=op.f('fk_coupons_tenant_id_consumer_id_consumers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_coupons_tenant_id_order_id_orders')),
    sa.ForeignKeyConstraint(['tenant_id', 'template_id'], ['coupon_templates.tenant_id', 'coupon_templates.id'], name=op.f('fk_coupons_tenant_id_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('tenant_id', 'template_id', 'consumer_id', 'seq', name=op.f('uq_coupons_tenant_id_template_id_consumer_id_seq'))
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index('ix_coupons_consumer', ['tenant_id', 'consumer_id', 'status', 'valid_to'], unique=False)
        batch_op.create_index('ix_coupons_expiry', ['tenant_id', 'status', 'valid_to'], unique=False)
        batch_op.create_index('ix_coupons_order', ['tenant_id', 'order_id'], unique=False)

    op.create_table('order_adjustments',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('step', sa.Enum('level', 'coupon', 'points', 'points_mall', 'shipping', name='adjustmentstep', native_enum=False, length=20), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('coupon_id', sa.Uuid(), nullable=True),
    sa.Column('source', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('lines', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_minor >= 0 AND points >= 0', name=op.f('ck_order_adjustments_non_negative')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_order_adjustments_tenant_id_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_order_adjustments'))
    )
    with op.batch_alter_table('order_adjustments', schema=None) as batch_op:
        batch_op.create_index('ix_order_adjustments_order', ['tenant_id', 'order_id'], unique=False)


    for table in TABLES:
        for column in PLACING[table][1:]:
            with op.batch_alter_table(table) as batch:
                batch.create_check_constraint(
                    f"{column}_shape", f"{column} LIKE '/%/' AND {column} NOT LIKE '%~%'"
                )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.policy_sql(table, rls.TABLE_POLICIES[table]):
                op.execute(statement)
            columns = [c for c in rls.PLACING_COLUMNS if c in PLACING[table]]
            for statement in rls.keep_placement_sql(table, columns):
                op.execute(statement)


TABLES = ["coupon_templates", "coupons", "coupon_issue_jobs", "order_adjustments", "mall_items"]
PLACING = {"coupon_templates": ("tenant_id", "owner_path"), "coupons": ("tenant_id", "owner_path"),
           "coupon_issue_jobs": ("tenant_id", "owner_path"), "mall_items": ("tenant_id", "owner_path"),
           "order_adjustments": ("tenant_id", "owner_path", "seller_path")}


def downgrade():
    with op.batch_alter_table('order_adjustments', schema=None) as batch_op:
        batch_op.drop_index('ix_order_adjustments_order')

    op.drop_table('order_adjustments')
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_coupons_order')
        batch_op.drop_index('ix_coupons_expiry')
        batch_op.drop_index('ix_coupons_consumer')

    op.drop_table('coupons')
    op.drop_table('mall_items')
    op.drop_table('coupon_issue_jobs')
    op.drop_table('coupon_templates')
