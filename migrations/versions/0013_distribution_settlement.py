"""distribution settlement: statements, payout attempts, payout accounts, withholding table

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 01:00:00
"""

from alembic import op
import sqlalchemy as sa

from app.tenancy import rls

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

PATH = sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql')
TABLES = ["distribution_statements", "distribution_payouts", "distribution_payout_accounts",
          "withholding_brackets"]


def _keys(table: str) -> list:
    return [
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_path', PATH, nullable=False),
        sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'",
                           name=op.f(f'ck_{table}_owner_path_shape')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f(f'pk_{table}')),
    ]


def upgrade():
    op.create_table(
        'distribution_statements', *_keys('distribution_statements'),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('run_key', sa.String(length=80), nullable=False),
        sa.Column('beneficiary_kind', sa.String(length=20), nullable=False),
        sa.Column('beneficiary_id', sa.Uuid(), nullable=False),
        sa.Column('beneficiary_org_id', sa.Uuid(), nullable=True),
        sa.Column('beneficiary_consumer_id', sa.Uuid(), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('entry_count', sa.Integer(), nullable=False),
        sa.Column('takings_minor', sa.BigInteger(), nullable=False),
        sa.Column('commission_minor', sa.BigInteger(), nullable=False),
        sa.Column('fee_minor', sa.BigInteger(), nullable=False),
        sa.Column('other_minor', sa.BigInteger(), nullable=False),
        sa.Column('gross_minor', sa.BigInteger(), nullable=False),
        sa.Column('withholding_minor', sa.BigInteger(), nullable=False),
        sa.Column('net_minor', sa.BigInteger(), nullable=False),
        sa.Column('payout_attempts', sa.Integer(), nullable=False),
        sa.Column('approved_by', sa.Uuid(), nullable=True),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('withholding_minor >= 0 AND net_minor = gross_minor - withholding_minor',
                           name=op.f('ck_distribution_statements_amounts_add_up')),
        sa.UniqueConstraint('tenant_id', 'beneficiary_kind', 'beneficiary_id', 'currency', 'run_key',
                            name=op.f('uq_distribution_statements_tenant_id_beneficiary_kind_'
                                      'beneficiary_id_currency_run_key')),
    )
    op.create_index('ix_distribution_statements_scope', 'distribution_statements',
                    ['tenant_id', 'owner_path', 'created_at'])
    op.create_index('ix_distribution_statements_status', 'distribution_statements', ['tenant_id', 'status'])

    op.create_table(
        'distribution_payouts', *_keys('distribution_payouts'),
        sa.Column('statement_id', sa.Uuid(), nullable=False),
        sa.Column('beneficiary_consumer_id', sa.Uuid(), nullable=True),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('destination', sa.String(length=100), nullable=True),
        sa.Column('source_charge', sa.String(length=100), nullable=True),
        sa.Column('gateway_ref', sa.String(length=255), nullable=True),
        sa.Column('bank_reference', sa.String(length=255), nullable=True),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('amount_minor > 0', name=op.f('ck_distribution_payouts_amount_positive')),
        sa.ForeignKeyConstraint(['tenant_id', 'statement_id'],
                                ['distribution_statements.tenant_id', 'distribution_statements.id'],
                                name=op.f('fk_distribution_payouts_tenant_id_statement_id_'
                                          'distribution_statements')),
        sa.UniqueConstraint('tenant_id', 'statement_id', 'attempt',
                            name=op.f('uq_distribution_payouts_tenant_id_statement_id_attempt')),
        sa.UniqueConstraint('tenant_id', 'idempotency_key',
                            name=op.f('uq_distribution_payouts_tenant_id_idempotency_key')),
    )
    op.create_index('ix_distribution_payouts_status', 'distribution_payouts', ['tenant_id', 'status'])
    op.create_index('ix_distribution_payouts_gateway_ref', 'distribution_payouts',
                    ['tenant_id', 'gateway_ref'])

    op.create_table(
        'distribution_payout_accounts', *_keys('distribution_payout_accounts'),
        sa.Column('beneficiary_kind', sa.String(length=20), nullable=False),
        sa.Column('beneficiary_id', sa.Uuid(), nullable=False),
        sa.Column('connect_account', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('tenant_id', 'beneficiary_kind', 'beneficiary_id',
                            name=op.f('uq_distribution_payout_accounts_tenant_id_beneficiary_kind_'
                                      'beneficiary_id')),
    )
    op.create_index('ix_distribution_payout_accounts_scope', 'distribution_payout_accounts',
                    ['tenant_id', 'owner_path'])

    op.create_table(
        'withholding_brackets', *_keys('withholding_brackets'),
        sa.Column('above_minor', sa.BigInteger(), nullable=False),
        sa.Column('rate_bps', sa.Integer(), nullable=False),
        sa.Column('quick_deduction_minor', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('above_minor >= 0 AND rate_bps BETWEEN 0 AND 10000 AND quick_deduction_minor >= 0',
                           name=op.f('ck_withholding_brackets_bracket_sane')),
        sa.UniqueConstraint('tenant_id', 'above_minor',
                            name=op.f('uq_withholding_brackets_tenant_id_above_minor')),
    )

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.policy_sql(table, rls.TABLE_POLICIES[table]):
                op.execute(statement)
            for statement in rls.keep_placement_sql(table, ["tenant_id", "owner_path"]):
                op.execute(statement)


def downgrade():
    op.drop_table('withholding_brackets')
    op.drop_index('ix_distribution_payout_accounts_scope', table_name='distribution_payout_accounts')
    op.drop_table('distribution_payout_accounts')
    op.drop_index('ix_distribution_payouts_gateway_ref', table_name='distribution_payouts')
    op.drop_index('ix_distribution_payouts_status', table_name='distribution_payouts')
    op.drop_table('distribution_payouts')
    op.drop_index('ix_distribution_statements_status', table_name='distribution_statements')
    op.drop_index('ix_distribution_statements_scope', table_name='distribution_statements')
    op.drop_table('distribution_statements')
