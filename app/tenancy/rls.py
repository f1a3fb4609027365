"""PostgreSQL row-level security: roles, policies, and the settings each transaction carries.

Policies compare values on the row (tenant id, owner path) with transaction-local settings:
no join to the org tree, so they also hold on a distributed (Citus) table. Migrations call the
functions here; their SQL must stay backward compatible (add new functions, do not change old).
"""

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

from app.tenancy.enums import Dataset
from app.tenancy.scope import Scope, current_scope

SETTING_NAMES = [
    "app.tenant_id", "app.tenant_slug", "app.platform", "app.org_path", "app.consumer_id",
] + [
    f"app.more_{dataset.value}" for dataset in Dataset
]

_EMPTY_SETTINGS = dict.fromkeys(SETTING_NAMES, "")

_SET_SQL = text(
    "SELECT " + ", ".join(f"set_config('{name}', :p{i}, true)" for i, name in enumerate(SETTING_NAMES))
)


def apply_settings(connection: Connection, scope: Scope | None) -> None:
    """SET LOCAL the scope (or an empty one: fail closed) on this transaction, driver-quoted."""
    if connection.dialect.name != "postgresql":
        return
    values = scope.rls_settings() if scope else _EMPTY_SETTINGS
    connection.execute(_SET_SQL, {f"p{i}": values[name] for i, name in enumerate(SETTING_NAMES)})


@event.listens_for(Session, "after_begin")
def _scope_each_transaction(session: Session, transaction: SessionTransaction,
                            connection: Connection) -> None:
    apply_settings(connection, current_scope())


# --- DDL used by migrations -------------------------------------------------------------

FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION tm_setting(name text) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT NULLIF(current_setting(name, true), '') $$;

CREATE OR REPLACE FUNCTION tm_tenant() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT tm_setting('app.tenant_id')::uuid $$;

CREATE OR REPLACE FUNCTION tm_under_any(path text, prefixes text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN prefixes IS NULL OR prefixes = '' THEN false ELSE EXISTS (
      SELECT 1 FROM unnest(string_to_array(prefixes, ',')) AS p
      WHERE path >= p AND path < p || '~') END $$;
"""


def subtree_predicate(path_column: str, dataset: Dataset | None,
                      consumer_column: str | None) -> str:
    """Own subtree as an index-friendly range, widening grants, and a consumer's own rows."""
    parts = [
        f"({path_column} >= tm_setting('app.org_path')"
        f" AND {path_column} < tm_setting('app.org_path') || '~')"
    ]
    if dataset is not None:
        parts.append(f"tm_under_any({path_column}, tm_setting('app.more_{dataset.value}'))")
    if consumer_column:
        parts.append(f"{consumer_column} = tm_setting('app.consumer_id')::uuid")
    return f"tenant_id = tm_tenant() AND ({' OR '.join(parts)})"


PREDICATES = {
    "tenant": "tenant_id = tm_tenant()",
    "tenant_self": (
        "id = tm_tenant() OR slug = tm_setting('app.tenant_slug')"
        " OR tm_setting('app.platform') = 'on'"
    ),
    "org_tree": (
        "tenant_id = tm_tenant() AND ("
        "(path >= tm_setting('app.org_path') AND path < tm_setting('app.org_path') || '~')"
        " OR (tm_setting('app.org_path') >= path AND tm_setting('app.org_path') < path || '~'))"
    ),
    # Catalog-like rows flow down the tree: an org sees its subtree's rows and its ancestors'.
    "downward": (
        "tenant_id = tm_tenant() AND ("
        "(owner_path >= tm_setting('app.org_path') AND owner_path < tm_setting('app.org_path') || '~')"
        " OR (tm_setting('app.org_path') >= owner_path"
        " AND tm_setting('app.org_path') < owner_path || '~'))"
    ),
    "grants": (
        "tenant_id = tm_tenant() AND ("
        "(owner_path >= tm_setting('app.org_path') AND owner_path < tm_setting('app.org_path') || '~')"
        " OR (grantee_path >= tm_setting('app.org_path')"
        " AND grantee_path < tm_setting('app.org_path') || '~'))"
    ),
}


def enable_rls_sql(table_name: str, predicate: str) -> list[str]:
    """Statements that put one table behind its policy, owner included (FORCE)."""
    return [
        f"ALTER TABLE {table_name} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table_name} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS scope ON {table_name}",
        f"CREATE POLICY scope ON {table_name} USING ({predicate}) WITH CHECK ({predicate})",
    ]
