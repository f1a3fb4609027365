"""finance controls: closed periods (a database wall), reconciliation runs and differences, invoice data

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 01:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.tenancy import rls

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

PATH = sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TABLES = ('accounting_periods', 'reconciliation_runs', 'reconciliation_differences')


def _keys(table):
    return [
        sa.Column('tenant_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_path', PATH, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'",
                           name=op.f(f'ck_{table}_owner_path_shape')),
        sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f(f'pk_{table}')),
    ]


def upgrade():
    op.create_table('accounting_periods',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by_id', sa.Uuid(), nullable=True),
    *_keys('accounting_periods'),
    sa.UniqueConstraint('tenant_id', 'period', name=op.f('uq_accounting_periods_tenant_id_period')),
    )
    op.create_table('reconciliation_runs',
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transactions', sa.Integer(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('differences', sa.Integer(), nullable=False),
    sa.Column('summary', JSON, nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    *_keys('reconciliation_runs'),
    )
    op.create_index('ix_reconciliation_runs_created', 'reconciliation_runs', ['tenant_id', 'created_at'])
    op.create_table('reconciliation_differences',
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('gateway_ref', sa.String(length=255), nullable=True),
    sa.Column('balance_transaction', sa.String(length=255), nullable=True),
    sa.Column('payout_ref', sa.String(length=255), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('org_id', sa.Uuid(), nullable=True),
    sa.Column('gateway_amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('books_amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('gateway_currency', sa.String(length=3), nullable=True),
    sa.Column('books_currency', sa.String(length=3), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    *_keys('reconciliation_differences'),
    sa.ForeignKeyConstraint(['tenant_id', 'run_id'], ['reconciliation_runs.tenant_id', 'reconciliation_runs.id'],
                            name=op.f('fk_reconciliation_differences_tenant_id_run_id_reconciliation_runs')),
    )
    op.create_index('ix_reconciliation_differences_run', 'reconciliation_differences', ['tenant_id', 'run_id'])
    with op.batch_alter_table('skus') as batch:
        batch.add_column(sa.Column('tax_rate_bp', sa.Integer(), nullable=True))
        batch.create_check_constraint('tax_rate_sane', 'tax_rate_bp IS NULL OR (tax_rate_bp >= 0 AND tax_rate_bp <= 10000)')
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('invoice_title', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('invoice_tax_id', sa.String(length=20), nullable=True))
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('tax_rate_bp', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('tax_minor', sa.BigInteger(), nullable=False, server_default='0'))
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in rls.policy_sql(table, rls.TABLE_POLICIES[table]):
                op.execute(statement)
            for statement in rls.keep_placement_sql(table, ['tenant_id', 'owner_path']):
                op.execute(statement)
        op.execute(PERIOD_WALL)


# A closed period refuses every journal entry dated in it, whoever inserts it (the app role
# included): written like the journal wall of 0006 — schema-qualified, search_path pinned, the
# tenant's own settings put back. Lines need no trigger of their own: a line joins only an entry
# inserted in its own transaction (0006), and that insert is what this refuses.
# Closing takes pg_advisory_xact_lock(key) and a posting the shared lock on the same key, so a
# close waits for postings in flight and a posting that starts later sees the closed row.
PERIOD_WALL = """
CREATE FUNCTION public.tm_period_lock_key(tenant uuid, period text) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, public, pg_temp
  AS $$ SELECT pg_catalog.hashtextextended(tenant::text || ':' || period, 15) $$;

CREATE FUNCTION public.tm_journal_period_guard() RETURNS trigger LANGUAGE plpgsql
  SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  saved_tenant text := pg_catalog.current_setting('app.tenant_id', true);
  saved_path text := pg_catalog.current_setting('app.org_path', true);
  month text := pg_catalog.to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM');
  closed boolean;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock_shared(public.tm_period_lock_key(NEW.tenant_id, month));
  PERFORM pg_catalog.set_config('app.tenant_id', NEW.tenant_id::text, true);
  PERFORM pg_catalog.set_config('app.org_path', '/', true);
  SELECT EXISTS (SELECT 1 FROM public.accounting_periods p
                 WHERE p.tenant_id = NEW.tenant_id AND p.period = month) INTO closed;
  PERFORM pg_catalog.set_config('app.tenant_id', coalesce(saved_tenant, ''), true);
  PERFORM pg_catalog.set_config('app.org_path', coalesce(saved_path, ''), true);
  IF closed THEN
    RAISE EXCEPTION 'the period % is closed: post the correction in an open period', month
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER journal_entries_period_guard BEFORE INSERT ON public.journal_entries
  FOR EACH ROW EXECUTE FUNCTION public.tm_journal_period_guard();
-- Closing is final: a closed period cannot be reopened or moved (entries are append-only, 0004).
CREATE TRIGGER accounting_periods_append_only BEFORE UPDATE OR DELETE ON public.accounting_periods
  FOR EACH ROW EXECUTE FUNCTION public.tm_refuse_change();
"""


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS accounting_periods_append_only ON public.accounting_periods")
        op.execute("DROP TRIGGER IF EXISTS journal_entries_period_guard ON public.journal_entries")
        op.execute("DROP FUNCTION IF EXISTS public.tm_journal_period_guard()")
        op.execute("DROP FUNCTION IF EXISTS public.tm_period_lock_key(uuid, text)")
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_column('tax_minor')
        batch.drop_column('tax_rate_bp')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('invoice_tax_id')
        batch.drop_column('invoice_title')
    with op.batch_alter_table('skus') as batch:
        batch.drop_constraint('tax_rate_sane', type_='check')
        batch.drop_column('tax_rate_bp')
    op.drop_index('ix_reconciliation_differences_run', table_name='reconciliation_differences')
    op.drop_table('reconciliation_differences')
    op.drop_index('ix_reconciliation_runs_created', table_name='reconciliation_runs')
    op.drop_table('reconciliation_runs')
    op.drop_table('accounting_periods')
