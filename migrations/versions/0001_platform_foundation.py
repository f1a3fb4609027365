"""platform foundation: tenants, org tree, users, consumers, grants, auth, outbox, audit

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 13:09:41.106839
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.tenancy import rls
from app.tenancy.enums import Dataset

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_log',
    sa.Column('actor_kind', sa.Enum('staff', 'api_key', 'consumer', 'system', name='actorkind', native_enum=False, length=20), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_scope', 'audit_log', ['tenant_id', 'owner_path', 'created_at'], unique=False)
    op.create_table('login_attempts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    op.create_index('ix_login_attempts_key', 'login_attempts', ['key_hash', 'failed_at'], unique=False)
    op.create_table('tenants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('wechat_appid', sa.String(length=64), nullable=True),
    sa.Column('wechat_secret', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug'))
    )
    op.create_table('orgs',
    sa.Column('kind', sa.Enum('brand', 'distributor', 'store', name='orgkind', native_enum=False, length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_orgs_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['tenant_id', 'parent_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_orgs_tenant_id_parent_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_orgs')),
    sa.UniqueConstraint('tenant_id', 'path', name=op.f('uq_orgs_tenant_id_path'))
    )
    op.create_table('outbox_events',
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('relayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_outbox_events'))
    )
    op.create_index('ix_outbox_events_pending', 'outbox_events', ['tenant_id', 'relayed_at', 'id'], unique=False)
    op.create_table('processed_events',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('handler', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'event_id', 'handler', name=op.f('pk_processed_events'))
    )
    op.create_table('grants',
    sa.Column('grantor_org_id', sa.Uuid(), nullable=False),
    sa.Column('grantee_org_id', sa.Uuid(), nullable=False),
    sa.Column('grantee_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('dataset', sa.Enum('orders', 'consumers', 'inventory', 'sales', 'commissions', 'catalog', name='dataset', native_enum=False, length=20), nullable=False),
    sa.Column('fidelity', sa.Enum('none', 'aggregate', 'masked', 'full', name='fidelity', native_enum=False, length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'grantee_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_grants_tenant_id_grantee_org_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'grantor_org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_grants_tenant_id_grantor_org_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_grants')),
    sa.UniqueConstraint('tenant_id', 'grantor_org_id', 'grantee_org_id', 'dataset', name=op.f('uq_grants_tenant_id_grantor_org_id_grantee_org_id_dataset'))
    )
    op.create_index('ix_grants_grantee', 'grants', ['tenant_id', 'grantee_org_id'], unique=False)
    op.create_table('users',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('owner', 'admin', 'finance', 'buyer', 'guide', 'viewer', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_users_tenant_id_org_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_users')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_users_tenant_id_email'))
    )
    op.create_index('ix_users_scope', 'users', ['tenant_id', 'owner_path'], unique=False)
    op.create_table('api_keys',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.Enum('owner', 'admin', 'finance', 'buyer', 'guide', 'viewer', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'created_by'], ['users.tenant_id', 'users.id'], name=op.f('fk_api_keys_tenant_id_created_by_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'org_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_api_keys_tenant_id_org_id_orgs')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_api_keys'))
    )
    op.create_table('consumers',
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('home_store_id', sa.Uuid(), nullable=False),
    sa.Column('guide_id', sa.Uuid(), nullable=True),
    sa.Column('referrer_id', sa.Uuid(), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'guide_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_consumers_tenant_id_guide_id_users')),
    sa.ForeignKeyConstraint(['tenant_id', 'home_store_id'], ['orgs.tenant_id', 'orgs.id'], name=op.f('fk_consumers_tenant_id_home_store_id_orgs')),
    sa.ForeignKeyConstraint(['tenant_id', 'referrer_id'], ['consumers.tenant_id', 'consumers.id'], name=op.f('fk_consumers_tenant_id_referrer_id_consumers')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_consumers'))
    )
    op.create_index('ix_consumers_scope', 'consumers', ['tenant_id', 'owner_path'], unique=False)
    op.create_table('consumer_identities',
    sa.Column('consumer_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('wechat_openid', 'wechat_unionid', 'phone', 'store_card', name='identitykind', native_enum=False, length=20), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'consumer_id'], ['consumers.tenant_id', 'consumers.id'], name=op.f('fk_consumer_identities_tenant_id_consumer_id_consumers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_consumer_identities')),
    sa.UniqueConstraint('tenant_id', 'kind', 'value', name=op.f('uq_consumer_identities_tenant_id_kind_value'))
    )
    op.create_table('refresh_tokens',
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('consumer_id', sa.Uuid(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'consumer_id'], ['consumers.tenant_id', 'consumers.id'], name=op.f('fk_refresh_tokens_tenant_id_consumer_id_consumers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_refresh_tokens_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_refresh_tokens'))
    )
    op.create_index('ix_refresh_tokens_family', 'refresh_tokens', ['tenant_id', 'family_id'], unique=False)
    for table, column in PATH_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(
                f"{column}_shape", f"{column} LIKE '/%/' AND {column} NOT LIKE '%~%'"
            )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(rls.FUNCTIONS_SQL)
        for table, predicate in POLICIES.items():
            for statement in rls.enable_rls_sql(table, predicate):
                op.execute(statement)
        op.execute(APPEND_ONLY_AUDIT)


PATH_COLUMNS = [
    ("orgs", "path"), ("users", "owner_path"), ("consumers", "owner_path"),
    ("consumer_identities", "owner_path"), ("grants", "owner_path"), ("grants", "grantee_path"),
    ("api_keys", "owner_path"), ("outbox_events", "owner_path"), ("audit_log", "owner_path"),
]

POLICIES = {
    "tenants": rls.PREDICATES["tenant_self"],
    "orgs": rls.PREDICATES["org_tree"],
    "users": rls.subtree_predicate("owner_path", None, None),
    "consumers": rls.subtree_predicate("owner_path", Dataset.consumers, "id"),
    "consumer_identities": rls.subtree_predicate("owner_path", Dataset.consumers, "consumer_id"),
    "grants": rls.PREDICATES["grants"],
    "api_keys": rls.subtree_predicate("owner_path", None, None),
    "refresh_tokens": rls.PREDICATES["tenant"],
    "outbox_events": rls.subtree_predicate("owner_path", None, None),
    "processed_events": rls.PREDICATES["tenant"],
    "audit_log": rls.subtree_predicate("owner_path", None, None),
}

APPEND_ONLY_AUDIT = """
CREATE FUNCTION tm_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION tm_refuse_change();
"""


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS tm_refuse_change()")
    op.drop_index('ix_refresh_tokens_family', table_name='refresh_tokens')
    op.drop_table('refresh_tokens')
    op.drop_table('consumer_identities')
    op.drop_index('ix_consumers_scope', table_name='consumers')
    op.drop_table('consumers')
    op.drop_table('api_keys')
    op.drop_index('ix_users_scope', table_name='users')
    op.drop_table('users')
    op.drop_index('ix_grants_grantee', table_name='grants')
    op.drop_table('grants')
    op.drop_table('processed_events')
    op.drop_index('ix_outbox_events_pending', table_name='outbox_events')
    op.drop_table('outbox_events')
    op.drop_table('orgs')
    op.drop_table('tenants')
    op.drop_index('ix_login_attempts_key', table_name='login_attempts')
    op.drop_table('login_attempts')
    op.drop_index('ix_audit_log_scope', table_name='audit_log')
    op.drop_table('audit_log')
