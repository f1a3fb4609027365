"""The portal's commission entries list has the index that orders a big subtree's newest rows
(migration 0018; bench/scoped_lists.py measures what it changes)."""

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.postgres


def test_commission_entries_can_be_walked_newest_first_within_a_tenant(session):
    definition = session.execute(text(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'distribution_entries'"
        " AND indexname = 'ix_distribution_entries_latest'")).scalar_one()
    assert definition.endswith("(tenant_id, created_at)")
