"""outbox: backoff between attempts, a dead-letter state, the platform sweep reads across tenants

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:00:00
"""

from alembic import op
import sqlalchemy as sa

from app.tenancy import rls

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# The platform scope (the sweep, retention, /readyz) reads and deletes outbox rows and receipts
# of every tenant; it never writes one (WITH CHECK stays the tenant's own predicate).
OUTBOX = rls.subtree_predicate("owner_path", None, None)
RECEIPTS = rls.PREDICATES["tenant"]
PLATFORM = "tm_setting('app.platform') = 'on'"

# What 0001 left as "skipped for good": failed 10 times and never relayed.
OLD_MAX_ATTEMPTS = 10


def _policy(table, using, check):
    op.execute(f"DROP POLICY IF EXISTS scope ON {table}")
    op.execute(f"CREATE POLICY scope ON {table} USING ({using}) WITH CHECK ({check})")


def upgrade():
    op.add_column('outbox_events', sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('outbox_events', sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_outbox_events_due', 'outbox_events', ['tenant_id', 'id'], unique=False,
                    postgresql_where=sa.text('relayed_at IS NULL AND dead_at IS NULL'),
                    sqlite_where=sa.text('relayed_at IS NULL AND dead_at IS NULL'))
    op.create_index('ix_outbox_events_dead', 'outbox_events', ['tenant_id', 'dead_at'], unique=False,
                    postgresql_where=sa.text('dead_at IS NOT NULL'),
                    sqlite_where=sa.text('dead_at IS NOT NULL'))
    if op.get_bind().dialect.name == "postgresql":
        _policy("outbox_events", f"({OUTBOX}) OR {PLATFORM}", OUTBOX)
        _policy("processed_events", f"({RECEIPTS}) OR {PLATFORM}", RECEIPTS)
        op.execute("ALTER TABLE outbox_events NO FORCE ROW LEVEL SECURITY")  # the owner, for one UPDATE
    op.execute(sa.text(
        "UPDATE outbox_events SET dead_at = created_at"
        " WHERE relayed_at IS NULL AND attempts >= :n").bindparams(n=OLD_MAX_ATTEMPTS))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox_events FORCE ROW LEVEL SECURITY")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _policy("outbox_events", OUTBOX, OUTBOX)
        _policy("processed_events", RECEIPTS, RECEIPTS)
    op.drop_index('ix_outbox_events_dead', table_name='outbox_events')
    op.drop_index('ix_outbox_events_due', table_name='outbox_events')
    with op.batch_alter_table('outbox_events') as batch:
        batch.drop_column('dead_at')
        batch.drop_column('next_attempt_at')
