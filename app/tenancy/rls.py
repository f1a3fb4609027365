"""PostgreSQL row-level security: the settings each transaction carries, and (re-exported from
rls_policies.py) the policies that read them.

Policies compare values on the row (tenant id, owner path) with transaction-local settings:
no join to the org tree, so they also hold on a distributed (Citus) table. Migrations call the
policy functions as `rls.<name>`; their SQL must stay backward compatible.
"""

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.elements import ReleaseSavepointClause, RollbackToSavepointClause, SavepointClause

from app.tenancy.enums import ActorKind, Dataset
from app.tenancy.rls_policies import (  # noqa: F401  (migrations and tests read them as rls.<name>)
    FUNCTIONS_SQL,
    FUNCTIONS_V2_SQL,
    PLACING_COLUMNS,
    POLICY_KINDS,
    PREDICATES,
    TABLE_POLICIES,
    UNDER,
    Policy,
    as_ranges,
    enable_rls_sql,
    keep_placement_sql,
    policy_sql,
    subtree_policy,
    subtree_predicate,
)
from app.tenancy.scope import Scope, current_scope

SETTING_NAMES = [
    "app.tenant_id", "app.tenant_slug", "app.platform", "app.org_path", "app.consumer_id",
    "app.user_id",
] + [
    f"app.{direction}_{dataset.value}" for dataset in Dataset for direction in ("more", "less")
]

_EMPTY_SETTINGS = dict.fromkeys(SETTING_NAMES, "")

# Scoped lists need a plan for *this* org's path range: a generic plan of a prepared statement
# (psycopg prepares after 5 runs; PostgreSQL goes generic after 5 more) guesses the range and
# sorted a distributor's whole subtree, 22x slower (bench/scope_overhead.py). Custom plans cost
# ~0.1-1 ms of planning; set in the same statement as the scope, so no extra round trip.
# bench/scoped_lists.py measures the choice (`auto` there is the PostgreSQL default).
PLAN_CACHE_MODE = "force_custom_plan"
# The system scope of a tenant (placement's writes, tasks, authentication) adds no org path range
# to its statements, the thing generic plans guessed wrong: there PostgreSQL's default (`auto`)
# reuses a prepared statement's plan instead of planning it again on every run (a checkout's
# quote spent 0.9 ms planning to run for 0.3 ms).
SYSTEM_PLAN_CACHE_MODE = "auto"
# A request reads 50 rows: no parallel workers. Under RLS the policy's per-row filter made the
# planner start two workers for a store's "latest 50 consumers" (300 ms on a busy 2-core host,
# 5 ms without); bench/scoped_lists.py. "" leaves the server's setting.
PARALLEL_WORKERS = "0"

_SET_SQL = text(
    "SELECT " + ", ".join(f"set_config('{name}', :p{i}, true)" for i, name in enumerate(SETTING_NAMES))
    + ", set_config('plan_cache_mode', :plan_cache_mode, true)"
    + ", set_config('max_parallel_workers_per_gather',"
      " coalesce(nullif(:parallel, ''), current_setting('max_parallel_workers_per_gather')), true)"
)


# Savepoint control carries no reads or writes: the pending scope waits for the next real statement.
_SAVEPOINT_CONTROL = (SavepointClause, ReleaseSavepointClause, RollbackToSavepointClause)
_PENDING = "tm_scope_pending"  # connection.info: a scope switched to, not yet sent
_APPLIED = "tm_scope_applied"  # connection.info: the scope the open transaction carries


def apply_settings(connection: Connection, scope: Scope | None) -> None:
    """SET LOCAL the scope (or an empty one: fail closed) on this transaction, driver-quoted."""
    if connection.dialect.name != "postgresql":
        return
    connection.info.pop(_PENDING, None)
    connection.info[_APPLIED] = scope
    values = scope.rls_settings() if scope else _EMPTY_SETTINGS
    system = scope is not None and scope.actor_kind is ActorKind.system
    connection.execute(_SET_SQL, {**{f"p{i}": values[name] for i, name in enumerate(SETTING_NAMES)},
                                  "plan_cache_mode": SYSTEM_PLAN_CACHE_MODE if system else PLAN_CACHE_MODE,
                                  "parallel": PARALLEL_WORKERS})


def defer_settings(connection: Connection, scope: Scope | None) -> None:
    """Apply `scope` right before the next statement on this transaction, not now.

    A request switches scope several times in a row without a statement between (request scope,
    then the system scope of placement): each switch would be a round trip, only the last one
    matters. `_apply_pending` sends it before whatever statement comes next (ORM, Core, flush or
    driver SQL all pass `before_execute`); switching back to the scope already applied sends nothing.
    """
    if connection.dialect.name != "postgresql":
        return
    if _APPLIED in connection.info and connection.info[_APPLIED] == scope:
        connection.info.pop(_PENDING, None)
    else:
        connection.info[_PENDING] = (scope,)


@event.listens_for(Engine, "before_execute")
def _apply_pending(connection: Connection, clauseelement, multiparams, params, execution_options):
    pending = connection.info.get(_PENDING)
    if pending is not None and not isinstance(clauseelement, _SAVEPOINT_CONTROL):
        apply_settings(connection, pending[0])  # pops the mark first: no recursion


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
@event.listens_for(Engine, "rollback_savepoint")
def _forget_applied(connection: Connection, *args) -> None:
    """SET LOCAL ends with the transaction, and a savepoint's rollback undoes what it set: what
    is applied is unknown again (the next BEGIN, or the next switch, sends the scope)."""
    connection.info.pop(_APPLIED, None)
    connection.info.pop(_PENDING, None)


@event.listens_for(Session, "after_begin")
def _scope_each_transaction(session: Session, transaction: SessionTransaction,
                            connection: Connection) -> None:
    apply_settings(connection, current_scope())
