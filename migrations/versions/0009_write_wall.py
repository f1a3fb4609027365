"""the write wall: read and write policies per command, carve-outs, placement trigger

Every table's policies are recreated from app.tenancy.rls.TABLE_POLICIES (one source, the
order policy included): SELECT reads own subtree, grants and ancestors' catalog minus the
`none`/`aggregate` carve-outs; INSERT/UPDATE/DELETE only the own subtree (catalog and policy
rows only by the brand, grants only by the grantor, session tokens only by their owner). A
trigger keeps tenant ids and paths unchangeable outside the system scope.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:00:00
"""

from alembic import op
import sqlalchemy as sa

from app.tenancy import rls

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# Gateway rows are routed to their tenant by the platform scope, which has no org path.
UNPLACED = {"webhook_events", "gateway_payouts"}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(rls.FUNCTIONS_V2_SQL)
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for table, policy in rls.TABLE_POLICIES.items():
        if table not in existing:  # created by a later revision, which applies its own policy
            continue
        for statement in rls.policy_sql(table, policy):
            op.execute(statement)
        columns = {column["name"] for column in inspector.get_columns(table)}
        placing = [c for c in rls.PLACING_COLUMNS if c in columns]
        if table not in UNPLACED and "tenant_id" in placing:
            for statement in rls.keep_placement_sql(table, placing):
                op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, policy in rls.TABLE_POLICIES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_keep_placement ON {table}")
        for name in ("scope_read", "scope_insert", "scope_update", "scope_delete"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"CREATE POLICY scope ON {table} USING ({policy.read}) WITH CHECK ({policy.read})")
    op.execute("DROP FUNCTION IF EXISTS public.tm_refuse_path_change()")
