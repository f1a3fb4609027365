"""Scoped lists get plans for their own path range: custom plans per transaction, MCV statistics."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.tenancy.rls import TABLE_POLICIES, apply_settings, policy_sql
from app.tenancy.scope import system_scope
from tests.database import test_urls
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




def _estimated_rows(connection, statement: str, parameters: dict) -> float:
    plan = connection.execute(text(f"EXPLAIN (FORMAT JSON) {statement}"), parameters).scalar_one()
    return plan[0]["Plan"]["Plan Rows"]


def test_the_policy_does_not_narrow_the_row_estimate_of_a_query_the_app_scoped(session):
    """The app states an org's subtree with constants; the policy's own subtree test (`@^`,
    migration 0019) must not be estimated again on top of it. As a range it was, and an org with
    10 % of the rows came out at 1 %: the planner sorted a distributor's journal instead of
    walking the newest-first index (docs/perf.md). Measured on a table of the journal's shape and
    policy that the owner role creates, fills and analyses in a transaction it rolls back, so that
    the statistics are known (the app role may not analyse)."""
    net = make_tenant(session)
    east = scope_of(session, net, "east")
    parameters = {"t": net.tenant.id, "p": east.org_path}
    listing = ("SELECT * FROM scoped_rows WHERE tenant_id = :t AND owner_path >= :p"
               " AND owner_path < :p || '~' ORDER BY created_at DESC")
    owner = create_engine(test_urls()[1], poolclass=NullPool)
    try:
        with owner.connect() as connection:
            apply_settings(connection, east)
            connection.execute(text("CREATE TABLE scoped_rows (tenant_id uuid,"
                                    " owner_path varchar(1024) COLLATE \"C\", created_at timestamptz)"))
            connection.execute(text(  # 10 % in east's subtree, the rest in the brand's other branches
                "INSERT INTO scoped_rows SELECT :t, CASE WHEN n % 10 = 0 THEN :p"
                " ELSE :brand || 'x' || n % 7 || '/' END, now() FROM generate_series(1, 5000) AS n"),
                {**parameters, "brand": net.orgs["brand"].path})
            connection.execute(text("CREATE STATISTICS scoped_rows_stats (mcv) ON tenant_id, owner_path"
                                    " FROM scoped_rows"))
            connection.execute(text("ANALYZE scoped_rows"))
            without_policy = _estimated_rows(connection, listing, parameters)
            for statement in policy_sql("scoped_rows", TABLE_POLICIES["journal_entries"]):
                connection.execute(text(statement))
            under_policy = _estimated_rows(connection, listing, parameters)
            connection.rollback()
    finally:
        owner.dispose()
    assert 400 <= without_policy <= 600  # the statistics know east's 500 rows
    assert under_policy >= 0.8 * without_policy
