"""distribution core: promoters, levels, bindings, commission plans and rules, snapshots, the entries ledger

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:42:44.744507
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401

from app.tenancy import rls


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('commission_plans',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'", name=op.f('ck_commission_plans_owner_path_shape')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_commission_plans'))
    )
    op.create_index('ix_commission_plans_active', 'commission_plans', ['tenant_id', 'active', 'created_at'], unique=False)

    op.create_table('promoter_levels',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('l1_rate_bp', sa.Integer(), nullable=False),
    sa.Column('l2_rate_bp', sa.Integer(), nullable=False),
    sa.Column('spend_threshold_minor', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('l1_rate_bp >= 0 AND l1_rate_bp <= 10000 AND l2_rate_bp >= 0 AND l2_rate_bp <= 10000 AND spend_threshold_minor >= 0', name=op.f('ck_promoter_levels_rates_sane')),
    sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'", name=op.f('ck_promoter_levels_owner_path_shape')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_promoter_levels')),
    sa.UniqueConstraint('tenant_id', 'rank', name=op.f('uq_promoter_levels_tenant_id_rank'))
    )
    op.create_table('commission_rules',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('promoter_l1', 'promoter_l2', 'guide', 'home_store', 'distributor', 'store_takings', 'fee', 'withholding', 'withdrawal', 'adjustment', name='entryrole', native_enum=False, length=20), nullable=False),
    sa.Column('sku_id', sa.Uuid(), nullable=True),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('category_id', sa.Uuid(), nullable=True),
    sa.Column('promoter_level_id', sa.Uuid(), nullable=True),
    sa.Column('org_id', sa.Uuid(), nullable=True),
    sa.Column('org_depth', sa.Integer(), nullable=True),
    sa.Column('rate_bp', sa.Integer(), nullable=True),
    sa.Column('fixed_minor', sa.BigInteger(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(CASE WHEN sku_id IS NULL THEN 0 ELSE 1 END + CASE WHEN product_id IS NULL THEN 0 ELSE 1 END + CASE WHEN category_id IS NULL THEN 0 ELSE 1 END) <= 1', name=op.f('ck_commission_rules_one_target')),
    sa.CheckConstraint('(rate_bp IS NULL OR (rate_bp >= 0 AND rate_bp <= 10000)) AND (fixed_minor IS NULL OR fixed_minor >= 0)', name=op.f('ck_commission_rules_amounts_sane')),
    sa.CheckConstraint('(rate_bp IS NULL) <> (fixed_minor IS NULL)', name=op.f('ck_commission_rules_rate_or_fixed')),
    sa.ForeignKeyConstraint(['tenant_id', 'category_id'], ['categories.tenant_id', 'categories.id'], name=op.f('fk_commission_rules_tenant_id_category_id_categories')),
    sa.ForeignKeyConstraint(['tenant_id', 'org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_commission_rules_tenant_id_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'plan_id'], ['commission_plans.tenant_id', 'commission_plans.id'], name=op.f('fk_commission_rules_tenant_id_plan_id_commission_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['products.tenant_id', 'products.id'], name=op.f('fk_commission_rules_tenant_id_product_id_products')),
    sa.ForeignKeyConstraint(['tenant_id', 'promoter_level_id'], ['promoter_levels.tenant_id', 'promoter_levels.id'], name=op.f('fk_commission_rules_tenant_id_promoter_level_id_promoter_levels')),
    sa.ForeignKeyConstraint(['tenant_id', 'sku_id'], ['skus.tenant_id', 'skus.id'], name=op.f('fk_commission_rules_tenant_id_sku_id_skus')),
    sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'", name=op.f('ck_commission_rules_owner_path_shape')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_commission_rules'))
    )
    op.create_index('ix_commission_rules_plan', 'commission_rules', ['tenant_id', 'plan_id'], unique=False)

    op.create_table('promoters',
    sa.Column('kind', sa.Enum('org', 'staff', 'consumer', name='beneficiarykind', native_enum=False, length=20), nullable=False),
    sa.Column('consumer_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('level_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'active', 'rejected', 'suspended', name='promoterstatus', native_enum=False, length=20), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(consumer_id IS NULL) <> (user_id IS NULL)', name=op.f('ck_promoters_one_person')),
    sa.ForeignKeyConstraint(['tenant_id', 'consumer_id'], ['consumers.tenant_id', 'consumers.id'], name=op.f('fk_promoters_tenant_id_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['tenant_id', 'level_id'], ['promoter_levels.tenant_id', 'promoter_levels.id'], name=op.f('fk_promoters_tenant_id_level_id_promoter_levels')),
    sa.ForeignKeyConstraint(['tenant_id', 'org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_promoters_tenant_id_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_promoters_tenant_id_user_id_users')),
    sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'", name=op.f('ck_promoters_owner_path_shape')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_promoters')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_promoters_tenant_id_code')),
    sa.UniqueConstraint('tenant_id', 'consumer_id', name=op.f('uq_promoters_tenant_id_consumer_id')),
    sa.UniqueConstraint('tenant_id', 'user_id', name=op.f('uq_promoters_tenant_id_user_id'))
    )
    op.create_index('ix_promoters_scope', 'promoters', ['tenant_id', 'owner_path'], unique=False)

    op.create_table('bindings',
    sa.Column('consumer_id', sa.Uuid(), nullable=False),
    sa.Column('promoter_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.Enum('share_link', 'qr_code', 'guide', 'store', name='bindingsource', native_enum=False, length=20), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('protected_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_reason', sa.Enum('expired', 'replaced', 'rebound', name='bindingend', native_enum=False, length=20), nullable=True),
    sa.Column('ended_by_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_bindings_period_sane')),
    sa.ForeignKeyConstraint(['tenant_id', 'consumer_id'], ['consumers.tenant_id', 'consumers.id'], name=op.f('fk_bindings_tenant_id_consumer_id_consumers')),
    sa.ForeignKeyConstraint(['tenant_id', 'ended_by_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_bindings_tenant_id_ended_by_id_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'promoter_id'], ['promoters.tenant_id', 'promoters.id'], name=op.f('fk_bindings_tenant_id_promoter_id_promoters')),
    sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'", name=op.f('ck_bindings_owner_path_shape')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_bindings'))
    )
    op.create_index('ix_bindings_consumer', 'bindings', ['tenant_id', 'consumer_id', 'valid_from'], unique=False)
    op.create_index('ix_bindings_promoter', 'bindings', ['tenant_id', 'promoter_id', 'valid_from'], unique=False)
    op.create_index('uq_bindings_open', 'bindings', ['tenant_id', 'consumer_id'], unique=True, postgresql_where=sa.text('ended_reason IS NULL'), sqlite_where=sa.text('ended_reason IS NULL'))

    op.create_table('commission_snapshots',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('order_line_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('promoter_l1', 'promoter_l2', 'guide', 'home_store', 'distributor', 'store_takings', 'fee', 'withholding', 'withdrawal', 'adjustment', name='entryrole', native_enum=False, length=20), nullable=False),
    sa.Column('promoter_id', sa.Uuid(), nullable=True),
    sa.Column('rule_id', sa.Uuid(), nullable=True),
    sa.Column('rate_bp', sa.Integer(), nullable=True),
    sa.Column('fixed_minor', sa.BigInteger(), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('base_minor', sa.BigInteger(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('beneficiary_kind', sa.Enum('org', 'staff', 'consumer', name='beneficiarykind', native_enum=False, length=20), nullable=False),
    sa.Column('beneficiary_id', sa.Uuid(), nullable=False),
    sa.Column('beneficiary_org_id', sa.Uuid(), nullable=False),
    sa.Column('beneficiary_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(rate_bp IS NULL) <> (fixed_minor IS NULL)', name=op.f('ck_commission_snapshots_rate_or_fixed')),
    sa.CheckConstraint('base_minor >= 0 AND amount_minor >= 0 AND amount_minor <= base_minor AND qty > 0', name=op.f('ck_commission_snapshots_amounts_sane')),
    sa.ForeignKeyConstraint(['tenant_id', 'beneficiary_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_commission_snapshots_tenant_id_beneficiary_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_commission_snapshots_tenant_id_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'order_line_id'], ['order_lines.tenant_id', 'order_lines.id'], name=op.f('fk_commission_snapshots_tenant_id_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'promoter_id'], ['promoters.tenant_id', 'promoters.id'], name=op.f('fk_commission_snapshots_tenant_id_promoter_id_promoters')),
    sa.ForeignKeyConstraint(['tenant_id', 'rule_id'], ['commission_rules.tenant_id', 'commission_rules.id'], name=op.f('fk_commission_snapshots_tenant_id_rule_id_commission_rules')),
    sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'", name=op.f('ck_commission_snapshots_owner_path_shape')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_commission_snapshots')),
    sa.UniqueConstraint('tenant_id', 'order_line_id', 'beneficiary_kind', 'beneficiary_id', 'role', name=op.f('uq_commission_snapshots_tenant_id_order_line_id_beneficiary_kind_beneficiary_id_role'))
    )
    op.create_index('ix_commission_snapshots_order', 'commission_snapshots', ['tenant_id', 'order_id'], unique=False)

    op.create_table('distribution_entries',
    sa.Column('kind', sa.Enum('commission', 'takings', 'fee', 'withholding', 'withdrawal', 'adjustment', name='entrykind', native_enum=False, length=20), nullable=False),
    sa.Column('role', sa.Enum('promoter_l1', 'promoter_l2', 'guide', 'home_store', 'distributor', 'store_takings', 'fee', 'withholding', 'withdrawal', 'adjustment', name='entryrole', native_enum=False, length=20), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('order_line_id', sa.Uuid(), nullable=True),
    sa.Column('refund_id', sa.Uuid(), nullable=True),
    sa.Column('base_minor', sa.BigInteger(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('frozen', 'available', 'settled', 'paid', 'reversed', name='entrystatus', native_enum=False, length=20), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('statement_id', sa.Uuid(), nullable=True),
    sa.Column('source_key', sa.String(length=255), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('beneficiary_kind', sa.Enum('org', 'staff', 'consumer', name='beneficiarykind', native_enum=False, length=20), nullable=False),
    sa.Column('beneficiary_id', sa.Uuid(), nullable=False),
    sa.Column('beneficiary_org_id', sa.Uuid(), nullable=False),
    sa.Column('beneficiary_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'beneficiary_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_distribution_entries_tenant_id_beneficiary_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_distribution_entries_tenant_id_order_id_orders')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_line_id'], ['order_lines.tenant_id', 'order_lines.id'], name=op.f('fk_distribution_entries_tenant_id_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['tenant_id', 'refund_id'], ['refunds.tenant_id', 'refunds.id'], name=op.f('fk_distribution_entries_tenant_id_refund_id_refunds')),
    sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'", name=op.f('ck_distribution_entries_owner_path_shape')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_distribution_entries')),
    sa.UniqueConstraint('tenant_id', 'source_key', name=op.f('uq_distribution_entries_tenant_id_source_key'))
    )
    op.create_index('ix_distribution_entries_beneficiary', 'distribution_entries', ['tenant_id', 'beneficiary_kind', 'beneficiary_id', 'status'], unique=False)
    op.create_index('ix_distribution_entries_frozen_due', 'distribution_entries', ['tenant_id', 'available_at'], unique=False, postgresql_where=sa.text("status = 'frozen'"), sqlite_where=sa.text("status = 'frozen'"))
    op.create_index('ix_distribution_entries_order', 'distribution_entries', ['tenant_id', 'order_id'], unique=False)
    op.create_index('ix_distribution_entries_scope', 'distribution_entries', ['tenant_id', 'owner_path', 'created_at'], unique=False)
    op.create_index('ix_distribution_entries_statement', 'distribution_entries', ['tenant_id', 'statement_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.policy_sql(table, rls.TABLE_POLICIES[table]):
                op.execute(statement)
            for statement in rls.keep_placement_sql(table, ["tenant_id", "owner_path"]):
                op.execute(statement)


TABLES = ["promoter_levels", "promoters", "bindings", "commission_plans", "commission_rules",
          "commission_snapshots", "distribution_entries"]


def downgrade():
    op.drop_index('ix_distribution_entries_statement', table_name='distribution_entries')
    op.drop_index('ix_distribution_entries_scope', table_name='distribution_entries')
    op.drop_index('ix_distribution_entries_order', table_name='distribution_entries')
    op.drop_index('ix_distribution_entries_frozen_due', table_name='distribution_entries')
    op.drop_index('ix_distribution_entries_beneficiary', table_name='distribution_entries')

    op.drop_table('distribution_entries')
    op.drop_index('ix_commission_snapshots_order', table_name='commission_snapshots')

    op.drop_table('commission_snapshots')
    op.drop_index('uq_bindings_open', table_name='bindings')
    op.drop_index('ix_bindings_promoter', table_name='bindings')
    op.drop_index('ix_bindings_consumer', table_name='bindings')

    op.drop_table('bindings')
    op.drop_index('ix_promoters_scope', table_name='promoters')

    op.drop_table('promoters')
    op.drop_index('ix_commission_rules_plan', table_name='commission_rules')

    op.drop_table('commission_rules')
    op.drop_table('promoter_levels')
    op.drop_index('ix_commission_plans_active', table_name='commission_plans')

    op.drop_table('commission_plans')
