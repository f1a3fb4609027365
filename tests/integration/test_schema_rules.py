"""Schema rules every tenant-owned table keeps, checked on the models and on the migrated database.

Walks whatever tables exist, so a module added later is held to the same rules.
"""

import re

import pytest
from sqlalchemy import Index, UniqueConstraint, text

import app.models  # noqa: F401  (registers every model)
from app.db import Base, uuid7

EXEMPT_RLS = {"platform"}
EXEMPT_TABLES = {"tenants"}


def rls_kind(table_name: str) -> str | None:
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table_name:
            return getattr(mapper.class_, "__rls__", "subtree")
    return "subtree"


def tenant_tables() -> list:
    return [table for name, table in sorted(Base.metadata.tables.items())
            if "tenant_id" in table.c and name not in EXEMPT_TABLES
            and rls_kind(name) not in EXEMPT_RLS]


TENANT_TABLE_NAMES = {table.name for table in tenant_tables()}


def path_columns(table) -> list[str]:
    return [c.name for c in table.c if c.name == "path" or c.name.endswith("_path")]


def test_there_are_tenant_owned_tables_to_check():
    assert {"orgs", "users", "consumers", "grants", "audit_log"} <= TENANT_TABLE_NAMES


@pytest.mark.parametrize("table", tenant_tables(), ids=lambda t: t.name)
def test_the_primary_key_starts_with_tenant_id_and_is_tenant_id_id_when_there_is_an_id(table):
    keys = [c.name for c in table.primary_key.columns]
    assert keys[:1] == ["tenant_id"], f"{table.name} PK {keys}"
    if "id" in table.c:
        assert keys == ["tenant_id", "id"], f"{table.name} PK {keys}"


@pytest.mark.parametrize("table", tenant_tables(), ids=lambda t: t.name)
def test_every_foreign_key_to_a_tenant_owned_table_is_composite_on_tenant_id(table):
    for fk in table.foreign_key_constraints:
        if fk.referred_table.name not in TENANT_TABLE_NAMES:
            continue
        pairs = {element.parent.name: element.column.name for element in fk.elements}
        assert len(pairs) >= 2 and pairs.get("tenant_id") == "tenant_id", (
            f"{table.name}.{fk.name} → {fk.referred_table.name}: {pairs}")


@pytest.mark.parametrize("table", tenant_tables(), ids=lambda t: t.name)
def test_every_unique_constraint_and_unique_index_includes_tenant_id(table):
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    uniques += [i for i in table.indexes if isinstance(i, Index) and i.unique]
    for unique in uniques:
        columns = [c.name for c in unique.columns]
        assert "tenant_id" in columns, f"{table.name}: unique {unique.name} on {columns}"
    for column in table.c:
        assert not column.unique or column.name == "tenant_id", f"{table.name}.{column.name} unique"


@pytest.mark.parametrize("table", [t for t in tenant_tables() if "id" in t.c], ids=lambda t: t.name)
def test_id_columns_default_to_uuid7(table):
    default = table.c.id.default
    assert default is not None and default.is_callable, f"{table.name}.id has no callable default"
    assert getattr(default.arg, "__wrapped__", default.arg) is uuid7, f"{table.name}.id default"


# --- the migrated database (PostgreSQL) ---------------------------------------------------------

def database_tables(session) -> set[str]:
    return set(session.scalars(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")))


def test_every_model_table_exists_in_the_migrated_database(session):
    missing = set(Base.metadata.tables) - database_tables(session)
    assert not missing, f"models without a migration: {sorted(missing)}"


def check_definitions(session, table: str) -> list[str]:
    return list(session.scalars(text(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = to_regclass(:t) AND contype = 'c'"), {"t": table}))


@pytest.mark.parametrize("table", [t for t in tenant_tables() if path_columns(t)],
                         ids=lambda t: t.name)
def test_path_columns_have_the_shape_check_in_the_migrated_database(session, table):
    definitions = check_definitions(session, table.name)
    for column in path_columns(table):
        shape = re.compile(rf"\b{column}\b.*'/%/'.*\b{column}\b.*!~~ '%~%'")
        assert any(shape.search(d) for d in definitions), (
            f"{table.name}.{column}: no shape CHECK among {definitions}")


def test_tenant_owned_keys_in_the_migrated_database_lead_with_tenant_id(session):
    """Primary keys and unique indexes as PostgreSQL has them, not as the models say."""
    rows = session.execute(text("""
        SELECT c.relname, i.relname, ix.indisprimary,
               array(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, n)
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                     ORDER BY k.n)::text[]
        FROM pg_index ix
        JOIN pg_class c ON c.oid = ix.indrelid
        JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = current_schema()
        WHERE ix.indisunique
    """)).all()
    problems = []
    for table, index, primary, columns in rows:
        if table not in TENANT_TABLE_NAMES:
            continue
        if primary and columns[:1] != ["tenant_id"]:
            problems.append(f"{table}: primary key {columns}")
        if not primary and "tenant_id" not in columns:
            problems.append(f"{table}: unique index {index} on {columns}")
    assert not problems


def test_foreign_keys_in_the_migrated_database_carry_tenant_id_on_both_sides(session):
    rows = session.execute(text("""
        SELECT c.conname, t.relname, r.relname,
               array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(attnum, n)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                     ORDER BY k.n)::text[],
               array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, n)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum
                     ORDER BY k.n)::text[]
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_class r ON r.oid = c.confrelid
        JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = current_schema()
        WHERE c.contype = 'f'
    """)).all()
    problems = []
    for name, table, referred, columns, referred_columns in rows:
        if table not in TENANT_TABLE_NAMES or referred not in TENANT_TABLE_NAMES:
            continue
        pairs = dict(zip(columns, referred_columns, strict=True))
        if len(pairs) < 2 or pairs.get("tenant_id") != "tenant_id":
            problems.append(f"{table}.{name} → {referred}: {pairs}")
    assert not problems
