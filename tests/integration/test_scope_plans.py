"""Scoped lists get plans for their own path range: custom plans per transaction, MCV statistics."""

import pytest
from sqlalchemy import text

from app.tenancy.scope import system_scope
from tests.factories import make_tenant, scope_of
from tests.support.scope import use_scope

pytestmark = pytest.mark.postgres


def test_every_org_scoped_transaction_plans_its_statements_for_its_own_values(session):
    net = make_tenant(session)
    use_scope(session, scope_of(session, net, "east"))
    assert session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
    assert session.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
    session.commit()  # the next transaction sets it again, with its scope
    use_scope(session, system_scope(net.tenant.id))  # no org path range: plans may be reused
    assert session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
    use_scope(session, scope_of(session, net, "east"))  # a switch inside the transaction sets it too
    assert session.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"


@pytest.mark.parametrize(("table", "column"), [
    ("orders", "owner_path"), ("orders", "seller_path"), ("refunds", "seller_path"),
    ("consumers", "owner_path"), ("journal_entries", "owner_path"), ("journal_lines", "owner_path"),
])
def test_the_large_tables_know_how_tenant_and_path_go_together(session, table, column):
    kinds = session.execute(text(
        "SELECT s.stxkind FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid"
        " WHERE c.relname = :table AND (SELECT array_agg(a.attname::text ORDER BY a.attname)"
        "   FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = ANY(s.stxkeys))"
        "   = ARRAY[:column, 'tenant_id']"), {"table": table, "column": column}).scalar_one()
    assert "m" in kinds  # most-common-values lists of (tenant_id, path) pairs


def test_a_scope_switch_is_sent_with_the_next_statement_and_switching_back_sends_nothing(session):
    from app.extensions import db
    from app.tenancy.elevation import Why, elevated
    from bench.statements import statements_sent

    net = make_tenant(session)
    east = scope_of(session, net, "east")
    use_scope(session, east)
    session.execute(text("SELECT 1"))
    with statements_sent(db.engine) as sent:
        with elevated(session, Why.quote_prices, scope=system_scope(net.tenant.id)):
            pass  # nothing read under the system scope: nothing sent for it
        session.execute(text("SELECT 1"))
    assert [s for s in sent if "set_config" in s] == []
    with statements_sent(db.engine) as sent:
        with elevated(session, Why.quote_prices, scope=system_scope(net.tenant.id)):
            tenant = session.execute(text("SELECT current_setting('app.org_path')")).scalar()
        back = session.execute(text("SELECT current_setting('app.org_path')")).scalar()
    assert (tenant, back) == ("/", east.org_path)  # each statement ran under its own scope (system: all)
    assert len([s for s in sent if "set_config" in s]) == 2
