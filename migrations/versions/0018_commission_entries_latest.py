"""commission entries latest: a (tenant_id, created_at) index on distribution_entries for the
portal's entries list newest first, as 0016 gave orders, refunds, consumers and journal entries

When a tenant's policy (or a grant) shows commissions below an org as rows, `GET
/distribution/entries` of a brand or a large distributor reads a path range that no
(tenant_id, owner_path, created_at) index orders: PostgreSQL sorted the whole subtree for 50 rows
(EXPLAIN ANALYZE, 1M entries: a brand's 382k rows 1,642 ms, a distributor's 40k 120 ms, a
store's 19k 63 ms). Walking this index backwards and filtering by path: 0.23, 0.74 and 3.2 ms.
0017's statistics on (tenant_id, owner_path) let the planner keep the path index for a small
store's few rows.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 04:30:00
"""

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_distribution_entries_latest", "distribution_entries", ["tenant_id", "created_at"])


def downgrade():
    op.drop_index("ix_distribution_entries_latest", table_name="distribution_entries")
