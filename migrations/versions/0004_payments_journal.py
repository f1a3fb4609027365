"""payments and the journal: payments, gateway refunds, webhook events, payouts, credit, ledger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.tenancy import rls
from app.tenancy.enums import Dataset

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('gateway_payouts',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=True),
    sa.Column('account', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('failure_code', sa.String(length=100), nullable=True),
    sa.Column('arrival_date', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_payouts'))
    )
    op.create_table('journal_entries',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('source_key', sa.String(length=255), nullable=False),
    sa.Column('memo', sa.String(length=500), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reverses_entry_id', sa.Uuid(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'reverses_entry_id'], ['journal_entries.tenant_id', 'journal_entries.id'], name=op.f('fk_journal_entries_tenant_id_reverses_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('tenant_id', 'source_key', name=op.f('uq_journal_entries_tenant_id_source_key'))
    )
    op.create_index('ix_journal_entries_scope', 'journal_entries', ['tenant_id', 'owner_path', 'created_at'], unique=False)
    op.create_table('webhook_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=True),
    sa.Column('account', sa.String(length=255), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=100), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events'))
    )
    op.create_index(op.f('ix_webhook_events_tenant_id'), 'webhook_events', ['tenant_id'], unique=False)
    op.create_table('credit_accounts',
    sa.Column('seller_org_id', sa.Uuid(), nullable=False),
    sa.Column('buyer_org_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('limit_minor', sa.BigInteger(), nullable=False),
    sa.Column('used_minor', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('limit_minor >= 0 AND used_minor >= 0', name=op.f('ck_credit_accounts_amounts_sane')),
    sa.ForeignKeyConstraint(['tenant_id', 'buyer_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_credit_accounts_tenant_id_buyer_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'seller_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_credit_accounts_tenant_id_seller_org_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_credit_accounts')),
    sa.UniqueConstraint('tenant_id', 'seller_org_id', 'buyer_org_id', name=op.f('uq_credit_accounts_tenant_id_seller_org_id_buyer_org_id'))
    )
    op.create_table('ledger_accounts',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.Enum('gateway_clearing', 'cash', 'unapplied_receipts', 'sales_revenue', 'sales_returns', 'gateway_fees', 'receivable', 'payable', 'commission_expense', 'points_liability', name='accountcode', native_enum=False, length=40), nullable=False),
    sa.Column('kind', sa.Enum('asset', 'liability', 'equity', 'revenue', 'expense', name='accountkind', native_enum=False, length=20), nullable=False),
    sa.Column('counterparty_org_id', sa.Uuid(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'counterparty_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_ledger_accounts_tenant_id_counterparty_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_ledger_accounts_tenant_id_org_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('tenant_id', 'key', name=op.f('uq_ledger_accounts_tenant_id_key'))
    )
    op.create_index('ix_ledger_accounts_scope', 'ledger_accounts', ['tenant_id', 'owner_path'], unique=False)
    op.create_table('journal_lines',
    sa.Column('entry_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.CheckConstraint('amount_minor <> 0', name=op.f('ck_journal_lines_amount_nonzero')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['ledger_accounts.tenant_id', 'ledger_accounts.id'], name=op.f('fk_journal_lines_tenant_id_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['tenant_id', 'entry_id'], ['journal_entries.tenant_id', 'journal_entries.id'], name=op.f('fk_journal_lines_tenant_id_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_journal_lines'))
    )
    op.create_index('ix_journal_lines_account', 'journal_lines', ['tenant_id', 'account_id'], unique=False)
    op.create_index('ix_journal_lines_entry', 'journal_lines', ['tenant_id', 'entry_id'], unique=False)
    op.create_table('credit_entries',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('charge', 'repayment', 'credit_note', name='creditentrykind', native_enum=False, length=20), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('outstanding_minor', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_minor > 0 AND outstanding_minor >= 0 AND outstanding_minor <= amount_minor', name=op.f('ck_credit_entries_amounts_sane')),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['credit_accounts.tenant_id', 'credit_accounts.id'], name=op.f('fk_credit_entries_tenant_id_account_id_credit_accounts')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_credit_entries_tenant_id_order_id_orders')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_credit_entries'))
    )
    op.create_index('ix_credit_entries_account', 'credit_entries', ['tenant_id', 'account_id', 'created_at'], unique=False)
    op.create_table('payments',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('gateway', sa.String(length=20), nullable=False),
    sa.Column('gateway_ref', sa.String(length=255), nullable=False),
    sa.Column('charge_ref', sa.String(length=255), nullable=True),
    sa.Column('status', sa.Enum('pending', 'succeeded', 'failed', 'amount_mismatch', 'refunded', name='paymentstatus', native_enum=False, length=20), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('received_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('client_secret', sa.String(length=255), nullable=True),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('confirmed_by_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_minor > 0 AND refunded_minor >= 0', name=op.f('ck_payments_amounts_sane')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_payments_tenant_id_order_id_orders')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_payments')),
    sa.UniqueConstraint('tenant_id', 'gateway', 'gateway_ref', name=op.f('uq_payments_tenant_id_gateway_gateway_ref'))
    )
    op.create_index('ix_payments_order', 'payments', ['tenant_id', 'order_id'], unique=False)
    op.create_table('payment_refunds',
    sa.Column('payment_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('refund_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Enum('order_refund', 'duplicate_payment', 'order_cancelled', name='refundreason', native_enum=False, length=20), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('gateway_ref', sa.String(length=255), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('pending', 'succeeded', 'failed', name='refundexecutionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('buyer_consumer_id', sa.Uuid(), nullable=True),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_payment_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['orders.tenant_id', 'orders.id'], name=op.f('fk_payment_refunds_tenant_id_order_id_orders')),
    sa.ForeignKeyConstraint(['tenant_id', 'payment_id'], ['payments.tenant_id', 'payments.id'], name=op.f('fk_payment_refunds_tenant_id_payment_id_payments')),
    sa.ForeignKeyConstraint(['tenant_id', 'refund_id'], ['refunds.tenant_id', 'refunds.id'], name=op.f('fk_payment_refunds_tenant_id_refund_id_refunds')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_payment_refunds')),
    sa.UniqueConstraint('tenant_id', 'idempotency_key', name=op.f('uq_payment_refunds_tenant_id_idempotency_key'))
    )
    op.create_index('ix_payment_refunds_gateway_ref', 'payment_refunds', ['tenant_id', 'gateway_ref'], unique=False)
    for table, column in PATH_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(
                f"{column}_shape", f"{column} LIKE '/%/' AND {column} NOT LIKE '%~%'"
            )
    if op.get_bind().dialect.name == "postgresql":
        for table, predicate in POLICIES.items():
            for statement in rls.enable_rls_sql(table, predicate):
                op.execute(statement)
        op.execute(JOURNAL_TRIGGERS)


PATH_COLUMNS = [
    ("payments", "owner_path"), ("payments", "seller_path"),
    ("payment_refunds", "owner_path"), ("payment_refunds", "seller_path"),
    ("credit_accounts", "owner_path"), ("credit_entries", "owner_path"),
    ("ledger_accounts", "owner_path"), ("journal_entries", "owner_path"),
    ("journal_lines", "owner_path"),
]

# Payments are seen like their order: owner subtree, seller subtree, the buying consumer.
SELLER_SIDE = (
    "(tenant_id = tm_tenant() AND seller_path >= tm_setting('app.org_path')"
    " AND seller_path < tm_setting('app.org_path') || '~')"
)
ORDER_PREDICATE = (
    f"({rls.subtree_predicate('owner_path', Dataset.orders, 'buyer_consumer_id')}) OR {SELLER_SIDE}"
)
# Gateway events arrive before anyone knows their tenant: the platform scope stores and routes
# them; a tenant reads only its own.
PLATFORM_PREDICATE = "tenant_id = tm_tenant() OR tm_setting('app.platform') = 'on'"

POLICIES = {
    "payments": ORDER_PREDICATE,
    "payment_refunds": ORDER_PREDICATE,
    "webhook_events": PLATFORM_PREDICATE,
    "gateway_payouts": PLATFORM_PREDICATE,
    "credit_accounts": rls.subtree_predicate("owner_path", None, None),
    "credit_entries": rls.subtree_predicate("owner_path", None, None),
    "ledger_accounts": rls.subtree_predicate("owner_path", None, None),
    "journal_entries": rls.subtree_predicate("owner_path", None, None),
    "journal_lines": rls.subtree_predicate("owner_path", None, None),
}

# Append-only journal, and an entry that does not sum to zero (or has fewer than two lines)
# cannot commit. The check runs at commit (deferred), reading the entry's lines in the tenant's
# system scope so that whatever scope the transaction ends in cannot hide lines from it.
JOURNAL_TRIGGERS = """
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION tm_refuse_change();
CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION tm_refuse_change();

CREATE FUNCTION tm_journal_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  saved_tenant text := current_setting('app.tenant_id', true);
  saved_path text := current_setting('app.org_path', true);
  entry uuid;
  total numeric;
  line_count integer;
BEGIN
  IF TG_TABLE_NAME = 'journal_lines' THEN entry := NEW.entry_id; ELSE entry := NEW.id; END IF;
  PERFORM set_config('app.tenant_id', NEW.tenant_id::text, true);
  PERFORM set_config('app.org_path', '/', true);
  SELECT coalesce(sum(amount_minor), 0), count(*) INTO total, line_count
    FROM journal_lines WHERE tenant_id = NEW.tenant_id AND entry_id = entry;
  PERFORM set_config('app.tenant_id', coalesce(saved_tenant, ''), true);
  PERFORM set_config('app.org_path', coalesce(saved_path, ''), true);
  IF line_count < 2 OR total <> 0 THEN
    RAISE EXCEPTION 'journal entry % does not balance: % lines summing to %', entry, line_count, total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_journal_entry_balanced();
CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tm_journal_entry_balanced();
"""


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in (("journal_lines_balanced", "journal_lines"),
                               ("journal_entries_balanced", "journal_entries"),
                               ("journal_lines_append_only", "journal_lines"),
                               ("journal_entries_append_only", "journal_entries")):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS tm_journal_entry_balanced()")
    op.drop_index('ix_payment_refunds_gateway_ref', table_name='payment_refunds')
    op.drop_table('payment_refunds')
    op.drop_index('ix_payments_order', table_name='payments')
    op.drop_table('payments')
    op.drop_index('ix_credit_entries_account', table_name='credit_entries')
    op.drop_table('credit_entries')
    op.drop_index('ix_journal_lines_entry', table_name='journal_lines')
    op.drop_index('ix_journal_lines_account', table_name='journal_lines')
    op.drop_table('journal_lines')
    op.drop_index('ix_ledger_accounts_scope', table_name='ledger_accounts')
    op.drop_table('ledger_accounts')
    op.drop_table('credit_accounts')
    op.drop_index(op.f('ix_webhook_events_tenant_id'), table_name='webhook_events')
    op.drop_table('webhook_events')
    op.drop_index('ix_journal_entries_scope', table_name='journal_entries')
    op.drop_table('journal_entries')
    op.drop_table('gateway_payouts')
