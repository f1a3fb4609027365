"""finance exports: export jobs (a dataset for a period, run as the scope that asked)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 01:00:00
"""

from alembic import op
import sqlalchemy as sa

from app.tenancy import rls

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

TABLE = "export_jobs"
PATH = sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql')


def upgrade():
    op.create_table(TABLE,
    sa.Column('dataset', sa.String(length=40), nullable=False),
    sa.Column('format', sa.Enum('csv', 'xlsx', name='exportformat', native_enum=False, length=8), nullable=False),
    sa.Column('period_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filter_org_id', sa.Uuid(), nullable=True),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('requested_by_kind', sa.Enum('staff', 'api_key', 'consumer', 'system', name='actorkind', native_enum=False, length=20), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.Enum('owner', 'admin', 'finance', 'buyer', 'guide', 'viewer', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='exportstatus', native_enum=False, length=12), nullable=False),
    sa.Column('rows_total', sa.BigInteger(), nullable=False),
    sa.Column('rows_done', sa.BigInteger(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', PATH, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("owner_path LIKE '/%/' AND owner_path NOT LIKE '%~%'", name=op.f('ck_export_jobs_owner_path_shape')),
    sa.CheckConstraint('rows_done >= 0 AND rows_total >= 0', name=op.f('ck_export_jobs_progress_sane')),
    sa.ForeignKeyConstraint(['tenant_id', 'filter_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_export_jobs_tenant_id_filter_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_export_jobs_tenant_id_org_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_export_jobs'))
    )
    op.create_index('ix_export_jobs_scope', TABLE, ['tenant_id', 'owner_path', 'created_at'], unique=False)
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in rls.policy_sql(TABLE, rls.TABLE_POLICIES[TABLE]):
        op.execute(statement)
    for statement in rls.keep_placement_sql(TABLE, ["tenant_id", "owner_path"]):
        op.execute(statement)


def downgrade():
    op.drop_index('ix_export_jobs_scope', table_name=TABLE)
    op.drop_table(TABLE)
