"""Isolation proven at the database: raw SQL as the app role, past the application filter.

Each test runs its SQL on the test's own connection (the app role, subject to RLS) with
`text(...)`, so only the policies stand between the query and other tenants' or branches' rows.
"""

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import UniqueConstraint, create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

import app.models  # noqa: F401  (registers every model)
from app.db import Base, uuid7
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.filters import visible
from app.tenancy.models import Consumer, Grant
from app.tenancy.rls import TABLE_POLICIES, apply_settings
from app.tenancy.scope import system_scope
from tests import database
from tests.factories import add_consumer, consumer_scope_of, make_tenant, scope_of
from tests.support.scope import use_scope

RLS_VIOLATION = "42501"  # insufficient_privilege: a WITH CHECK failure, or the audit trigger
FK_VIOLATION = "23503"


def rls_kind(table_name: str) -> str:
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table_name:
            return getattr(mapper.class_, "__rls__", "subtree")
    return "subtree"


RLS_TABLES = sorted(name for name in Base.metadata.tables if rls_kind(name) != "platform")
TENANT_COLUMN = {name: "id" if name == "tenants" else "tenant_id" for name in RLS_TABLES}


def count(session, table: str, where: str = "TRUE", **params) -> int:
    return session.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}"), params)


def refused(session, sql: str, **params) -> str:
    """Run `sql` in a savepoint, expect the database to refuse it, return the SQLSTATE."""
    with pytest.raises(DBAPIError) as error, session.begin_nested():
        session.execute(text(sql), params)
    return error.value.orig.sqlstate


INSERT_CONSUMER = (
    "INSERT INTO consumers (tenant_id, id, owner_path, created_at, name, phone, home_store_id)"
    " VALUES (:tenant, gen_random_uuid(), :path, now(), 'Mallory', '13900000000', :store)"
)


@pytest.fixture
def two_tenants(session):
    mine, theirs = make_tenant(session), make_tenant(session)
    consumers = {
        "jingan": add_consumer(session, mine, "jingan", openid="openid-shared"),
        "chengdu": add_consumer(session, mine, "chengdu"),
        "theirs": add_consumer(session, theirs, "chengdu", openid="openid-theirs"),
    }
    return mine, theirs, consumers


# --- another tenant -------------------------------------------------------------------------

def test_another_tenants_rows_are_invisible_in_every_table(session, two_tenants):
    mine, theirs, _ = two_tenants
    use_scope(session, system_scope(theirs.tenant.id))
    assert count(session, "orgs", "tenant_id = :t", t=theirs.tenant.id) == 7
    assert count(session, "consumers", "tenant_id = :t", t=theirs.tenant.id) == 1
    use_scope(session, system_scope(mine.tenant.id))
    for table in RLS_TABLES:
        where = f"{TENANT_COLUMN[table]} = :t"
        assert count(session, table, where, t=theirs.tenant.id) == 0, table


def test_a_row_for_another_tenant_cannot_be_inserted(session, two_tenants):
    mine, theirs, _ = two_tenants
    use_scope(session, system_scope(mine.tenant.id))
    store = theirs.org("chengdu")
    assert refused(session, INSERT_CONSUMER, tenant=theirs.tenant.id, path=store.path,
                   store=store.id) == RLS_VIOLATION
    assert refused(session, "INSERT INTO orgs (tenant_id, id, kind, name, path, depth, active,"
                   " created_at) VALUES (:t, :i, 'store', 'X', :p, 1, true, now())",
                   t=theirs.tenant.id, i=uuid7(), p=f"/{uuid7()}/") == RLS_VIOLATION


def test_a_row_of_my_tenant_cannot_point_at_another_tenants_org(session, two_tenants):
    mine, theirs, _ = two_tenants
    use_scope(session, system_scope(mine.tenant.id))
    assert refused(session, INSERT_CONSUMER, tenant=mine.tenant.id,
                   path=mine.org("chengdu").path, store=theirs.org("chengdu").id) == FK_VIOLATION


def test_another_tenants_rows_cannot_be_updated_or_deleted(session, two_tenants):
    mine, theirs, consumers = two_tenants
    use_scope(session, system_scope(mine.tenant.id))
    params = {"t": theirs.tenant.id}
    assert session.execute(text("UPDATE consumers SET name = 'x' WHERE tenant_id = :t"),
                           params).rowcount == 0
    assert session.execute(text("DELETE FROM consumer_identities WHERE tenant_id = :t"),
                           params).rowcount == 0
    assert session.execute(text("UPDATE tenants SET name = 'x' WHERE id = :t"), params).rowcount == 0
    use_scope(session, system_scope(theirs.tenant.id))
    assert session.scalar(text("SELECT name FROM consumers WHERE id = :i"),
                          {"i": consumers["theirs"].id}) == consumers["theirs"].name
    assert count(session, "consumer_identities", "tenant_id = :t", **params) == 1


def test_my_row_cannot_be_moved_into_another_tenant(session, two_tenants):
    mine, theirs, consumers = two_tenants
    use_scope(session, system_scope(mine.tenant.id))
    assert refused(session, "UPDATE consumer_identities SET tenant_id = :t WHERE consumer_id = :c",
                   t=theirs.tenant.id, c=consumers["jingan"].id) == RLS_VIOLATION


# --- a sibling branch -----------------------------------------------------------------------

def test_a_sibling_branchs_rows_are_invisible(session, two_tenants):
    mine, _, consumers = two_tenants
    scope_of(session, mine, "east")
    assert count(session, "consumers", "id = :i", i=consumers["jingan"].id) == 1
    assert count(session, "consumers", "id = :i", i=consumers["chengdu"].id) == 0
    west = mine.org("west").path
    for table in ("users", "consumers", "orgs"):
        column = "path" if table == "orgs" else "owner_path"
        assert count(session, table, f"{column} >= :p AND {column} < :p || '~'", p=west) == 0, table


def test_a_row_cannot_be_inserted_into_a_sibling_branch(session, two_tenants):
    mine, _, _ = two_tenants
    scope_of(session, mine, "east")
    chengdu = mine.org("chengdu")
    assert refused(session, INSERT_CONSUMER, tenant=mine.tenant.id, path=chengdu.path,
                   store=chengdu.id) == RLS_VIOLATION


def test_a_sibling_branchs_rows_cannot_be_updated_and_mine_cannot_move_there(session, two_tenants):
    mine, _, consumers = two_tenants
    scope_of(session, mine, "east")
    assert session.execute(text("UPDATE consumers SET name = 'x' WHERE id = :i"),
                           {"i": consumers["chengdu"].id}).rowcount == 0
    assert session.execute(text("DELETE FROM users WHERE owner_path = :p"),
                           {"p": mine.org("west").path}).rowcount == 0
    assert refused(session, "UPDATE consumers SET owner_path = :p WHERE id = :i",
                   p=mine.org("chengdu").path, i=consumers["jingan"].id) == RLS_VIOLATION


@pytest.mark.parametrize("fidelity", [Fidelity.masked, Fidelity.full])
def test_a_grant_lets_the_database_show_a_sibling_branch(session, two_tenants, fidelity):
    mine, _, consumers = two_tenants
    grant(session, mine, "west", "east", fidelity)
    scope_of(session, mine, "east")
    assert count(session, "consumers", "id = :i", i=consumers["chengdu"].id) == 1
    assert count(session, "users", "owner_path = :p", p=mine.org("west").path) == 0


def test_an_aggregate_grant_lets_the_rows_through_only_to_be_counted(session, two_tenants):
    mine, _, consumers = two_tenants
    grant(session, mine, "west", "east", Fidelity.aggregate)
    scope = scope_of(session, mine, "east")
    assert count(session, "consumers", "id = :i", i=consumers["chengdu"].id) == 0
    use_scope(session, scope.for_totals())
    assert count(session, "consumers", "id = :i", i=consumers["chengdu"].id) == 1


def grant(session, net, grantor: str, grantee: str, fidelity: Fidelity,
          dataset: Dataset = Dataset.consumers) -> None:
    use_scope(session, system_scope(net.tenant.id))
    session.add(Grant(tenant_id=net.tenant.id, grantor_org_id=net.org(grantor).id,
                      grantee_org_id=net.org(grantee).id, grantee_path=net.org(grantee).path,
                      owner_path=net.org(grantor).path, dataset=dataset, fidelity=fidelity))
    session.flush()


# --- a consumer, and no scope at all ----------------------------------------------------------

def test_a_consumer_sees_only_their_own_rows(session, two_tenants):
    mine, _, consumers = two_tenants
    consumer_scope_of(session, consumers["jingan"])
    assert list(session.scalars(text("SELECT id FROM consumers"))) == [consumers["jingan"].id]
    assert set(session.scalars(text("SELECT consumer_id FROM consumer_identities"))) == {
        consumers["jingan"].id}
    for table in ("orgs", "users", "grants", "outbox_events", "audit_log", "api_keys"):
        assert count(session, table) == 0, table


def test_with_no_scope_every_table_reads_empty(session, two_tenants):
    use_scope(session, None)
    assert session.scalar(text("SELECT current_setting('app.tenant_id', true)")) == ""
    for table in RLS_TABLES:
        assert count(session, table) == 0, table


# --- roles, policies, FORCE -----------------------------------------------------------------

def test_the_app_role_is_no_superuser_has_no_bypassrls_and_owns_nothing(session):
    _, owner, app_url = database.test_urls()
    assert session.scalar(text("SELECT current_user")) == app_url.username
    for role in (app_url.username, owner.username):
        superuser, bypass = session.execute(text(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}).one()
        assert not superuser and not bypass, role
    assert count(session, "pg_tables", "tableowner = current_user") == 0
    assert count(session, "pg_class", "relowner = (SELECT oid FROM pg_roles"
                 " WHERE rolname = current_user)") == 0


@pytest.mark.parametrize("table", RLS_TABLES)
def test_every_table_is_behind_a_forced_policy_per_command(session, table):
    enabled, forced = session.execute(text(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = to_regclass(:t)"),
        {"t": table}).one()
    assert enabled and forced
    policies = {cmd: (qual, check) for cmd, qual, check in session.execute(text(
        "SELECT cmd, qual, with_check FROM pg_policies WHERE tablename = :t"), {"t": table})}
    assert table in TABLE_POLICIES, f"{table} is not listed in rls.TABLE_POLICIES"
    assert set(policies) == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert policies["SELECT"][0] and policies["INSERT"][1] and policies["DELETE"][0]
    assert all(policies["UPDATE"])


def test_the_owner_role_is_subject_to_rls_too(app):
    _, owner_url, _ = database.test_urls()
    engine = create_engine(owner_url, poolclass=NullPool)
    tenant_id, org_id = uuid7(), uuid7()
    try:
        with engine.connect() as connection:
            apply_settings(connection, system_scope(tenant_id))
            connection.execute(text("INSERT INTO tenants (id, slug, name, currency, settings,"
                                    " created_at) VALUES (:t, :s, 'Owner test', 'CNY', '{}', now())"),
                               {"t": tenant_id, "s": f"owner-{tenant_id}"})
            connection.execute(text("INSERT INTO orgs (tenant_id, id, kind, name, path, depth,"
                                    " active, created_at) VALUES (:t, :i, 'brand', 'B', :p, 0,"
                                    " true, now())"), {"t": tenant_id, "i": org_id,
                                                       "p": f"/{org_id}/"})
            assert connection.scalar(text("SELECT count(*) FROM orgs")) == 1
            apply_settings(connection, None)
            assert connection.scalar(text("SELECT count(*) FROM orgs")) == 0
            assert connection.scalar(text("SELECT count(*) FROM tenants")) == 0
            apply_settings(connection, system_scope(uuid7()))
            assert connection.scalar(text("SELECT count(*) FROM orgs")) == 0
            connection.rollback()
    finally:
        engine.dispose()


def test_settings_do_not_leak_through_the_connection_pool(app):
    admin_url, _, app_url = database.test_urls()
    engine = create_engine(app_url, pool_size=1, max_overflow=0)
    admin = create_engine(admin_url, poolclass=NullPool)
    tenant_id, org_id = uuid7(), uuid7()
    try:
        with engine.begin() as connection:
            apply_settings(connection, system_scope(tenant_id))
            pid = connection.scalar(text("SELECT pg_backend_pid()"))
            connection.execute(text("INSERT INTO tenants (id, slug, name, currency, settings,"
                                    " created_at) VALUES (:t, :s, 'Pool test', 'CNY', '{}', now())"),
                               {"t": tenant_id, "s": f"pool-{tenant_id}"})
            connection.execute(text("INSERT INTO orgs (tenant_id, id, kind, name, path, depth,"
                                    " active, created_at) VALUES (:t, :i, 'brand', 'B', :p, 0,"
                                    " true, now())"), {"t": tenant_id, "i": org_id,
                                                       "p": f"/{org_id}/"})
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT pg_backend_pid()")) == pid
            assert connection.scalar(text("SELECT current_setting('app.tenant_id', true)")) in ("", None)
            assert connection.scalar(text("SELECT current_setting('app.org_path', true)")) in ("", None)
            assert connection.scalar(text("SELECT count(*) FROM orgs")) == 0
            assert connection.scalar(text("SELECT count(*) FROM tenants")) == 0
        with create_engine(app_url, poolclass=NullPool).connect() as fresh:
            assert fresh.scalar(text("SELECT current_setting('app.tenant_id', true)")) is None
            assert fresh.scalar(text("SELECT count(*) FROM orgs")) == 0
        with admin.connect() as connection:  # the rows are there: only the scope hides them
            assert connection.scalar(text("SELECT count(*) FROM orgs WHERE tenant_id = :t"),
                                     {"t": tenant_id}) == 1
    finally:
        with admin.begin() as connection:
            connection.execute(text("DELETE FROM orgs WHERE tenant_id = :t"), {"t": tenant_id})
            connection.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": tenant_id})
        engine.dispose()
        admin.dispose()


# --- unique keys and the audit log ------------------------------------------------------------

def test_every_unique_key_of_a_tenant_table_includes_tenant_id():
    for table in Base.metadata.tables.values():
        if "tenant_id" not in table.c:
            continue
        uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
        uniques += [i for i in table.indexes if i.unique]
        for unique in uniques:
            assert "tenant_id" in [c.name for c in unique.columns], f"{table.name}: {unique.name}"


def test_the_same_unique_value_in_another_tenant_neither_fails_nor_reveals_it(session, two_tenants):
    mine, theirs, consumers = two_tenants
    use_scope(session, system_scope(theirs.tenant.id))
    with session.begin_nested():  # would raise a unique violation if the key spanned tenants
        session.execute(text(
            "INSERT INTO consumer_identities (tenant_id, id, owner_path, created_at, consumer_id,"
            " kind, value) VALUES (:t, gen_random_uuid(), :p, now(), :c, 'wechat_openid',"
            " 'openid-shared')"), {"t": theirs.tenant.id, "p": theirs.org("chengdu").path,
                                   "c": consumers["theirs"].id})
        renamed = session.execute(text(
            "UPDATE users SET email = :e WHERE tenant_id = :t AND org_id = :o"),
            {"e": mine.users["brand"].email, "t": theirs.tenant.id, "o": theirs.org("brand").id})
        assert renamed.rowcount == 1


def test_the_audit_log_is_append_only(session, two_tenants):
    mine, _, _ = two_tenants
    use_scope(session, system_scope(mine.tenant.id))
    entry = uuid7()
    session.execute(text(
        "INSERT INTO audit_log (tenant_id, id, owner_path, created_at, actor_kind, action,"
        " subject_type, details) VALUES (:t, :i, :p, now(), 'system', 'test.done', 'test', '{}')"),
        {"t": mine.tenant.id, "i": entry, "p": mine.org("brand").path})
    assert refused(session, "UPDATE audit_log SET action = 'x' WHERE id = :i", i=entry) == RLS_VIOLATION
    assert refused(session, "DELETE FROM audit_log WHERE id = :i", i=entry) == RLS_VIOLATION
    assert count(session, "audit_log", "id = :i AND action = 'test.done'", i=entry) == 1


# --- random grants: the database wall shows exactly what the application filter shows --------

ORG_KEYS = ["brand", "east", "shanghai", "west", "jingan", "hangzhou", "chengdu"]
grant_lists = st.lists(st.tuples(st.sampled_from(ORG_KEYS), st.sampled_from(ORG_KEYS),
                                 st.sampled_from(list(Fidelity))), max_size=6)
defaults = st.sampled_from(list(Fidelity))


def test_for_random_grants_and_defaults_rls_shows_what_the_app_filter_shows(session):
    mine, theirs = make_tenant(session), make_tenant(session)
    owned = {key: add_consumer(session, mine, key).id for key in ORG_KEYS}
    foreign = {add_consumer(session, theirs, key).id for key in ORG_KEYS}
    path_of = {consumer_id: mine.org(key).path for key, consumer_id in owned.items()}

    @settings(max_examples=25, deadline=None)
    @given(grant_lists, defaults)
    def check(grants, default):
        nested = session.begin_nested()
        try:
            granted = add_grants(session, mine, grants)
            mine.tenant.settings = {"data_sharing": {"consumers": default.value}}
            session.flush()
            for key in ORG_KEYS:
                scope = scope_of(session, mine, key)
                for floor, rls_scope in ((Fidelity.masked, scope),
                                         (Fidelity.aggregate, scope.for_totals())):
                    use_scope(session, rls_scope)
                    through_app = set(session.scalars(
                        select(Consumer.id).where(visible(Consumer, scope, at_least=floor))))
                    through_rls = set(session.scalars(text("SELECT id FROM consumers")))
                    assert through_app == through_rls, (key, floor)
                    assert not through_rls & foreign
                    allowed = [mine.org(key).path] + [
                        mine.org(grantor).path for grantor, grantee, f in granted
                        if grantee == key and f.at_least(floor)]
                    assert all(any(path_of[c].startswith(p) for p in allowed) for c in through_rls)
        finally:
            nested.rollback()
            session.expire(mine.tenant)

    check()


def add_grants(session, net, grants) -> list[tuple[str, str, Fidelity]]:
    """Insert the grants (one per grantor/grantee pair, none to oneself) in the system scope."""
    use_scope(session, system_scope(net.tenant.id))
    kept = {}
    for grantor, grantee, fidelity in grants:
        if grantor != grantee:
            kept.setdefault((grantor, grantee), fidelity)
    for (grantor, grantee), fidelity in kept.items():
        session.add(Grant(tenant_id=net.tenant.id, id=uuid.uuid4(), grantor_org_id=net.org(grantor).id,
                          grantee_org_id=net.org(grantee).id, grantee_path=net.org(grantee).path,
                          owner_path=net.org(grantor).path, dataset=Dataset.consumers,
                          fidelity=fidelity))
    session.flush()
    return [(grantor, grantee, fidelity) for (grantor, grantee), fidelity in kept.items()]
