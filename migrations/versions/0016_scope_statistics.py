"""scope statistics: MCV statistics on (tenant_id, <path>) of the large tenant tables, and
(tenant_id, created_at) indexes for the scoped lists newest first

Without them the planner multiplies the selectivities of `tenant_id = t` and the path range as
if independent (a brand's range already implies its tenant), estimates 1-150 rows where there
are thousands, and "latest 50 of my subtree" sorts the whole subtree instead of walking the
(tenant_id, path, created_at) index (bench/scope_overhead.py: 30-60x at brand level). PostgreSQL
only; ANALYZE fills them (autovacuum does on a live database; this migration runs it once).
The membership and distribution tables get theirs in their own migrations (same helper shape).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 01:00:00
"""

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# Frozen here (a migration must not change when app code does): table -> its path columns.
SCOPED_TABLES = {
    "orders": ("owner_path", "seller_path"),
    "order_lines": ("owner_path", "seller_path"),
    "order_history": ("owner_path", "seller_path"),
    "refunds": ("owner_path", "seller_path"),
    "refund_lines": ("owner_path", "seller_path"),
    "shipments": ("owner_path", "seller_path"),
    "payments": ("owner_path", "seller_path"),
    "payment_refunds": ("owner_path", "seller_path"),
    "unapplied_receipts": ("owner_path", "seller_path"),
    "consumers": ("owner_path",),
    "journal_entries": ("owner_path",),
    "journal_lines": ("owner_path",),
    "credit_entries": ("owner_path",),
    "stock_levels": ("owner_path",),
    "stock_movements": ("owner_path",),
    "audit_log": ("owner_path",),
    "outbox_events": ("owner_path",),
}
# "Latest 50 of my subtree" for a subtree that is most of its tenant (a brand, a big distributor):
# walk (tenant_id, created_at) backwards and filter, instead of sorting every row of the subtree.
# The statistics above let the planner tell that case from a small store's.
LIST_INDEXES = {
    "ix_orders_latest": ("orders", ("tenant_id", "created_at")),
    "ix_refunds_owner": ("refunds", ("tenant_id", "owner_path", "created_at")),
    "ix_refunds_latest": ("refunds", ("tenant_id", "created_at")),
    "ix_consumers_latest": ("consumers", ("tenant_id", "created_at")),
    "ix_journal_entries_latest": ("journal_entries", ("tenant_id", "created_at")),
}
# Enough MCV items for every org of a large tenant (1,000 orgs) and then some; planning reads them.
STATISTICS_TARGET = 1000


def statistics_name(table: str, column: str) -> str:
    return f"st_{table}_tenant_{column}"


def upgrade():
    for name, (table, columns) in LIST_INDEXES.items():
        op.create_index(name, table, list(columns))
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in SCOPED_TABLES.items():
        for column in columns:
            name = statistics_name(table, column)
            op.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (mcv, ndistinct) ON tenant_id, {column} FROM {table}")
            op.execute(f"ALTER STATISTICS {name} SET STATISTICS {STATISTICS_TARGET}")
        op.execute(f"ANALYZE {table}")


def downgrade():
    for name, (table, _) in LIST_INDEXES.items():
        op.drop_index(name, table_name=table)
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in SCOPED_TABLES.items():
        for column in columns:
            op.execute(f"DROP STATISTICS IF EXISTS {statistics_name(table, column)}")
