"""audit: the acting org on every entry, and indexes for the audit filters (actor, subject)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:30:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on both databases (a batch copy would drop the append-only trigger).
    op.add_column('audit_log', sa.Column('actor_org_id', sa.Uuid(), nullable=True))
    op.create_index('ix_audit_log_actor', 'audit_log', ['tenant_id', 'actor_id', 'created_at'])
    op.create_index('ix_audit_log_subject', 'audit_log', ['tenant_id', 'subject_id', 'created_at'])


def downgrade():
    op.drop_index('ix_audit_log_subject', table_name='audit_log')
    op.drop_index('ix_audit_log_actor', table_name='audit_log')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('actor_org_id')
