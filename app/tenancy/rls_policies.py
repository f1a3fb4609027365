"""The row-level security policies as SQL: the functions they call, one policy per command for
every table (TABLE_POLICIES), and the DDL that installs them. Migrations call these (through
`app.tenancy.rls`, which re-exports them); their SQL must stay backward compatible (add new
functions, do not change old). The settings the policies read are set per transaction by rls.py.
"""

import re
from dataclasses import dataclass

from app.tenancy.enums import Dataset

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


# --- Read and write policies (migration 0009 on) -----------------------------------------
# Reads and writes differ: a scope reads its ancestors' catalog and whatever grants widen, but
# writes only inside its own subtree; `none`/`aggregate` carve-outs (app.less_<dataset>) hide
# rows from reads. Every table's policy is listed once here, in TABLE_POLICIES.

FUNCTIONS_V2_SQL = r"""
CREATE OR REPLACE FUNCTION public.tm_carved(path text, carve text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, public AS $$
    SELECT carve IS NOT NULL AND EXISTS (
      SELECT 1 FROM unnest(string_to_array(carve, ',')) AS entry(e),
           LATERAL string_to_array(e, '|') AS parts(p)
      WHERE path >= p[1] AND path < p[1] || '~'
        AND NOT EXISTS (SELECT 1 FROM unnest(p[2:]) AS keep(k) WHERE path >= k AND path < k || '~')) $$;

-- One-liners the planner inlines into policies: fully schema-qualified (operators too) instead of
-- a pinned search_path, which would stop the inlining (see migration 0006).
CREATE OR REPLACE FUNCTION public.tm_is_system() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT public.tm_setting('app.org_path') OPERATOR(pg_catalog.=) '/' $$;

CREATE OR REPLACE FUNCTION public.tm_brand_or_system() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT public.tm_setting('app.org_path') OPERATOR(pg_catalog.~) '^/([^/]+/)?$' $$;

CREATE OR REPLACE FUNCTION public.tm_refuse_path_change() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
  IF public.tm_setting('app.org_path') = '/' THEN RETURN NEW; END IF;
  RAISE EXCEPTION 'tenant ids and paths of % change only in the system scope', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

-- `path @^ prefix`: the path is `prefix` or below it (migration 0019 on). See UNDER below.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_operator
                 WHERE oprname = '@^' AND oprnamespace = 'public'::regnamespace) THEN
    CREATE OPERATOR public.@^ (LEFTARG = text, RIGHTARG = text,
                               FUNCTION = pg_catalog.starts_with, RESTRICT = neqsel);
  END IF;
END $$;
"""

_ORG = "tm_setting('app.org_path')"

# How a policy tests "this path is in that subtree" (migration 0019 on): `path @^ prefix`, that is
# pg_catalog.starts_with, the same rows as the range `path >= prefix AND path < prefix || '~'` (a
# path is '/'-separated and never holds '~': the paths' check constraint).
# Why not the range any more: the app's own filter (app.tenancy.filters.visible) already states
# the subtree with constants, which the planner estimates from the (tenant_id, path) statistics of
# migration 0016. The policy's range was estimated again on its own and multiplied in: an org
# holding 4 % of the rows came out at 4 % of 4 %, and "latest 50" of a distributor's journal sorted
# its subtree (11 ms) instead of walking the newest-first index (0.5 ms; bench/scoped_lists.py).
# The operator is estimated with `neqsel` ("any path but one org's"), close to 1: the policy counts
# as the near no-op it is for a query the app has scoped, and stays the wall for one that is not.
# (`neqsel` takes out the share of the first org the prefix matches: a tenant where one org owns
# most rows would see that share taken from a brand's estimate. Not the case in any data we have.)
UNDER = "@^"


def _under(path: str, prefix: str) -> str:
    return f"{path} {UNDER} {prefix}"


def _in_subtree(column: str) -> str:
    return _under(column, _ORG)


def _above(column: str) -> str:
    """The org in scope is at `column` or below it: rows of its ancestors (and its own)."""
    return _under(_ORG, column)


def as_ranges(predicate: str) -> str:
    """A predicate with every `path @^ prefix` written as the range it replaced (0019's downgrade)."""
    operand = r"(tm_setting\('[a-z_.]+'\)|[a-z_]+)"  # a setting or a path column
    return re.sub(f"{operand} {re.escape(UNDER)} {operand}", r"(\1 >= \2 AND \1 < \2 || '~')", predicate)


def _seen(column: str, dataset: Dataset | None) -> str:
    """Own subtree or a widening grant, minus the carve-outs; own rows are never carved."""
    if dataset is None:
        return _in_subtree(column)
    more, less = f"tm_setting('app.more_{dataset.value}')", f"tm_setting('app.less_{dataset.value}')"
    # The grant test is an SQL function the planner cannot inline (2 us a row): skipped when the
    # scope has no widening grant, as most have (0019; it ran for every row seen from the other side).
    return (f"(({_in_subtree(column)} OR ({more} IS NOT NULL AND tm_under_any({column}, {more})))"
            f" AND ({less} IS NULL OR {column} = {_ORG} OR NOT tm_carved({column}, {less})))")


def _own(consumer_column: str | None) -> list[str]:
    return [f"{consumer_column} = tm_setting('app.consumer_id')::uuid"] if consumer_column else []


def _tenant_and(parts: list[str]) -> str:
    return f"tenant_id = tm_tenant() AND ({' OR '.join(parts)})"


@dataclass(frozen=True)
class Policy:
    """USING for SELECT; USING and WITH CHECK for INSERT/UPDATE/DELETE (DELETE may differ)."""

    read: str
    write: str
    delete: str | None = None


def subtree_policy(dataset: Dataset | None, consumer_column: str | None = None) -> Policy:
    """Business rows of an org: read by its subtree (and grants), written by its subtree."""
    return Policy(read=_tenant_and([_seen("owner_path", dataset), *_own(consumer_column)]),
                  write=_tenant_and([_in_subtree("owner_path"), *_own(consumer_column)]))


PLATFORM_PREDICATE = "tenant_id = tm_tenant() OR tm_setting('app.platform') = 'on'"

POLICY_KINDS = {
    "tenant_self": Policy(
        read=PREDICATES["tenant_self"],
        write="(id = tm_tenant() AND tm_brand_or_system()) OR tm_setting('app.platform') = 'on'"),
    "org_tree": Policy(read=_tenant_and([_in_subtree("path"), _above("path")]),
                       write=_tenant_and([_in_subtree("path")])),
    # Catalog-like rows flow down (read by descendants), written only by their owner's subtree.
    "downward": Policy(read=_tenant_and([_in_subtree("owner_path"), _above("owner_path")]),
                       write=_tenant_and([_in_subtree("owner_path")])),
    # A price for one buyer is owned by the buyer (siblings never see it): seen by the buyer
    # and the orgs above it, not flowing down to its stores; the buyer cannot write it.
    "buyer_prices": Policy(
        read=_tenant_and([_in_subtree("owner_path"), f"(buyer_org_id IS NULL AND {_above('owner_path')})"]),
        write=(_tenant_and([_in_subtree("owner_path")])
               + f" AND (buyer_org_id IS NULL OR owner_path <> {_ORG})")),
    # Tenant-wide catalog (categories, products, SKUs): everyone reads, only the brand writes.
    "brand_catalog": Policy(read=PREDICATES["tenant"],
                            write="tenant_id = tm_tenant() AND tm_brand_or_system()"),
    "grants": Policy(read=_tenant_and([_in_subtree("owner_path"), _in_subtree("grantee_path")]),
                     write=f"tenant_id = tm_tenant() AND {_ORG} IN (owner_path, '/')"),
    # Session tokens: only their owner, or the system scope (login and refresh run there).
    "session_tokens": Policy(*[_tenant_and([
        "tm_is_system()", "user_id = tm_setting('app.user_id')::uuid", *_own("consumer_id")])] * 2),
    "system_only": Policy(read=PREDICATES["tenant"], write="tenant_id = tm_tenant() AND tm_is_system()"),
    "platform": Policy(read=PLATFORM_PREDICATE, write=PLATFORM_PREDICATE),
    # An order is seen by the buyer's subtree (owner_path), the seller's subtree (seller_path),
    # each narrowed by the carve-outs, and by the buying consumer.
    "orders": Policy(
        read=_tenant_and([_seen("owner_path", Dataset.orders), _seen("seller_path", Dataset.orders),
                          *_own("buyer_consumer_id")]),
        write=_tenant_and([_in_subtree("owner_path"), _in_subtree("seller_path"),
                           *_own("buyer_consumer_id")])),
}

def _platform_reads_and_deletes(policy: Policy) -> Policy:
    platform = "tm_setting('app.platform') = 'on'"
    return Policy(read=f"({policy.read}) OR {platform}", write=policy.write,
                  delete=f"({policy.delete or policy.write}) OR {platform}")


ORDER_TABLES = ["orders", "order_lines", "order_history", "shipments", "refunds", "refund_lines",
                "payments", "payment_refunds", "unapplied_receipts", "payment_disputes"]

MEMBER_TABLES = ["members", "growth_entries", "points_lots", "points_moves"]  # membership

TABLE_POLICIES: dict[str, Policy] = {
    "tenants": POLICY_KINDS["tenant_self"],
    "orgs": POLICY_KINDS["org_tree"],
    "users": subtree_policy(None),
    "consumers": subtree_policy(Dataset.consumers, "id"),
    "consumer_identities": subtree_policy(Dataset.consumers, "consumer_id"),
    "grants": POLICY_KINDS["grants"],
    "api_keys": subtree_policy(None),
    "refresh_tokens": POLICY_KINDS["session_tokens"],
    # The platform scope (outbox sweep, retention, /readyz) reads and deletes events and receipts
    # of every tenant, and writes none (migration 0008).
    "outbox_events": _platform_reads_and_deletes(subtree_policy(None)),
    "processed_events": _platform_reads_and_deletes(POLICY_KINDS["system_only"]),
    "audit_log": subtree_policy(None),
    "categories": POLICY_KINDS["brand_catalog"],
    "products": POLICY_KINDS["brand_catalog"],
    "skus": POLICY_KINDS["brand_catalog"],
    "price_bands": POLICY_KINDS["downward"],
    "price_entries": POLICY_KINDS["buyer_prices"],
    "store_assortments": subtree_policy(Dataset.catalog),
    "stock_levels": subtree_policy(Dataset.inventory),
    "stock_movements": subtree_policy(Dataset.inventory),
    **dict.fromkeys(ORDER_TABLES, POLICY_KINDS["orders"]),
    "cart_items": subtree_policy(Dataset.orders, "consumer_id"),
    "webhook_events": POLICY_KINDS["platform"],
    "gateway_payouts": POLICY_KINDS["platform"],
    "credit_accounts": subtree_policy(None),
    "credit_entries": subtree_policy(None),
    "ledger_accounts": subtree_policy(None),
    "journal_entries": subtree_policy(None),
    "journal_lines": subtree_policy(None),
    # finance
    "export_jobs": subtree_policy(None),
    # finance controls (finance-b): tenant-wide rows owned by the brand; a difference by its store
    "accounting_periods": subtree_policy(None),
    "reconciliation_runs": subtree_policy(None),
    "reconciliation_differences": subtree_policy(None),
    # membership: the program and levels are the brand's (everyone reads); members and their
    # ledgers belong to the home store's subtree and to the consumer
    "membership_programs": POLICY_KINDS["brand_catalog"],
    "member_levels": POLICY_KINDS["brand_catalog"],
    **dict.fromkeys(MEMBER_TABLES, subtree_policy(Dataset.consumers, "consumer_id")),
    # distribution: brand-owned plans and levels flow down; promoters and bindings are customer
    # data (consumers fidelity), snapshots and entries commissions data; the consumer sees their own.
    "promoter_levels": POLICY_KINDS["downward"],
    "commission_plans": POLICY_KINDS["downward"],
    "commission_rules": POLICY_KINDS["downward"],
    "promoters": subtree_policy(Dataset.consumers, "consumer_id"),
    "bindings": subtree_policy(Dataset.consumers, "consumer_id"),
    "commission_snapshots": subtree_policy(Dataset.commissions, "beneficiary_consumer_id"),
    "distribution_entries": subtree_policy(Dataset.commissions, "beneficiary_consumer_id"),
    # distribution settlement
    "distribution_statements": subtree_policy(Dataset.commissions, "beneficiary_consumer_id"),
    "distribution_payouts": subtree_policy(Dataset.commissions, "beneficiary_consumer_id"),
    "distribution_payout_accounts": subtree_policy(Dataset.commissions),
    "withholding_brackets": POLICY_KINDS["brand_catalog"],
    # membership: coupons, order adjustments, points mall
    "coupon_templates": POLICY_KINDS["brand_catalog"],
    "coupons": subtree_policy(Dataset.consumers, "consumer_id"),
    "coupon_issue_jobs": subtree_policy(None),
    "order_adjustments": POLICY_KINDS["orders"],
    "mall_items": POLICY_KINDS["brand_catalog"],
}

# Columns that place a row (tenant, paths): they change only in the system scope.
PLACING_COLUMNS = ("tenant_id", "owner_path", "seller_path", "grantee_path", "path")


def policy_sql(table_name: str, policy: Policy) -> list[str]:
    """Statements that replace a table's policies with one per command, owner included (FORCE)."""
    return [
        f"ALTER TABLE {table_name} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table_name} FORCE ROW LEVEL SECURITY",
        *(f"DROP POLICY IF EXISTS {name} ON {table_name}"
          for name in ("scope", "scope_read", "scope_insert", "scope_update", "scope_delete")),
        f"CREATE POLICY scope_read ON {table_name} FOR SELECT USING ({policy.read})",
        f"CREATE POLICY scope_insert ON {table_name} FOR INSERT WITH CHECK ({policy.write})",
        f"CREATE POLICY scope_update ON {table_name} FOR UPDATE USING ({policy.write})"
        f" WITH CHECK ({policy.write})",
        f"CREATE POLICY scope_delete ON {table_name} FOR DELETE USING ({policy.delete or policy.write})",
    ]


def keep_placement_sql(table_name: str, columns: list[str]) -> list[str]:
    """A trigger that refuses changing the row's tenant or paths outside the system scope."""
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    return [
        f"DROP TRIGGER IF EXISTS {table_name}_keep_placement ON {table_name}",
        f"CREATE TRIGGER {table_name}_keep_placement BEFORE UPDATE ON {table_name}"
        f" FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION public.tm_refuse_path_change()",
    ]


def enable_rls_sql(table_name: str, predicate: str) -> list[str]:
    """Statements that put one table behind its policy, owner included (FORCE)."""
    return [
        f"ALTER TABLE {table_name} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table_name} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS scope ON {table_name}",
        f"CREATE POLICY scope ON {table_name} USING ({predicate}) WITH CHECK ({predicate})",
    ]
