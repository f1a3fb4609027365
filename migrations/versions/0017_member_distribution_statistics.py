"""member and distribution statistics: MCV statistics on (tenant_id, owner_path) of the large
membership and distribution tables (and seller_path where it exists), as in 0016_scope_statistics.py

The same reason as 0016: without them the planner treats `tenant_id = t` and the owner_path
range as independent, underestimates a brand's subtree by orders of magnitude, and sorts it
instead of walking the (tenant_id, owner_path, created_at) index. PostgreSQL only; ANALYZE
fills them once here (autovacuum keeps them fresh on a live database).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 03:00:00
"""

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# Frozen here (a migration must not change when app code does): table -> its path columns.
SCOPED_TABLES = {
    "members": ("owner_path",),
    "growth_entries": ("owner_path",),
    "points_lots": ("owner_path",),
    "points_moves": ("owner_path",),
    "coupons": ("owner_path",),
    "order_adjustments": ("owner_path", "seller_path"),
    "distribution_entries": ("owner_path",),
    "commission_snapshots": ("owner_path",),
    "distribution_statements": ("owner_path",),
}
STATISTICS_TARGET = 1000  # as 0016: every org of a large tenant fits in the MCV list


def statistics_name(table: str, column: str) -> str:
    return f"st_{table}_tenant_{column}"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in SCOPED_TABLES.items():
        for column in columns:
            name = statistics_name(table, column)
            op.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (mcv, ndistinct) ON tenant_id, {column} FROM {table}")
            op.execute(f"ALTER STATISTICS {name} SET STATISTICS {STATISTICS_TARGET}")
        op.execute(f"ANALYZE {table}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in SCOPED_TABLES.items():
        for column in columns:
            op.execute(f"DROP STATISTICS IF EXISTS {statistics_name(table, column)}")
