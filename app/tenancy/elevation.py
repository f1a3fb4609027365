"""The one way to switch or widen a scope, and the reasons it is allowed (tests/unit/test_scope_rules).

`elevated(session, Why.x, scope=...)` runs a block under a wider scope and gives the caller's
scope back afterwards; `enter_scope(session, Why.x, scope=...)` starts a unit of work (request,
task, login, CLI) that had no scope yet. Both set the application filter's scope (a context
variable) and the RLS settings of the open transaction. Three rules make elevation safe:

- restoring never runs SQL on a transaction that already failed (the original error stays the
  error; the next BEGIN applies the restored scope, since `after_begin` reads the context variable);
- writes made inside the block are flushed inside it, under the scope that made them;
- ORM objects first loaded inside the block are expunged when it ends, so `session.get()` cannot
  serve a row the caller's scope does not see from the identity map (it runs a SELECT again,
  under the caller's settings).
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from app.tenancy.rls import defer_settings
from app.tenancy.scope import Scope, current_scope, set_current_scope, system_scope

_LOADED = "tiermall_elevations"  # session.info key: a stack, one list of loaded objects per block


class Why(StrEnum):
    """Every legitimate reason to leave the caller's scope; the value says what it allows."""

    authenticate = "resolve credentials (a token's user, an API key, a refresh token) in its tenant"
    login = "find the tenant by slug and check a password before any scope exists"
    request = "the request's own, resolved scope"
    task = "a task or a command runs as the system of one tenant"
    sweep_tenants = "a scheduled sweep lists the tenants it then runs for, one by one"
    outbox_upkeep = "outbox retention and /readyz count or delete relayed rows of every tenant at once"
    webhook = "a gateway webhook is stored and claimed across tenants, then handled in its tenant"
    create_tenant = "a platform operator creates a tenant and its brand root"
    seed_demo = "the demo seeder builds a tenant and acts as each of its members"
    reserve_seller_stock = "a buyer's order reads the seller org and moves the seller's stock"
    read_store_shelf = "a consumer reads a store's assortment, prices and availability"
    quote_prices = "prices come from the seller's price lists and the brand's bands"
    find_grantee = "a grantor names a grantee org that may lie outside its own view"
    read_tenant_policy = "the tenant's data-sharing defaults are read and changed by the brand"
    record_order_event = "an order event goes to the outbox, which a consumer's scope may not write"
    post_journal = "journal entries are posted on the tenant's accounts, whoever caused them"
    settle_payment = "payments and refunds of an order move money between buyer and seller"
    use_credit = "a credit account lies between a seller and its buyer; both sides change it"
    rewrite_paths = "a moved subtree's paths are rewritten, which only the system scope may do"
    count_totals = "an aggregate endpoint counts rows the caller may see as totals, never as rows"
    # finance
    export_as_asker = "an export task, started as the system, reads as the scope that asked for it"
    # finance controls (finance-b)
    finance_controls = ("the brand's finance closes periods and reconciles the tenant's gateway money"
                        " against payments, refunds, disputes and the journal of every org")
    # membership
    post_points = "the points liability is booked on the brand's accounts, whoever moved the points"
    # distribution
    write_distribution_ledger = "commission entries are written for beneficiaries anywhere in the tenant"
    join_distribution = ("a consumer applies, binds or lists their team: promoters, levels, uplines and"
                         " bound customers (names masked) are read in the tenant")
    snapshot_commissions = "an order's commission chain reads bindings, promoters and the brand's plan"
    # distribution settlement
    settle_distribution = "settlement, withdrawals, payouts write every beneficiary's entries and statements"
    # membership: coupons and the points mall
    claim_coupon = "a member's claim counts against the brand's coupon template quantity"


def _real(session: Session) -> Session:
    return session.registry() if isinstance(session, scoped_session) else session


def _open_connection(session: Session):
    """The connection of the open transaction, or None (nothing began: the next BEGIN applies)."""
    root = session.get_transaction()
    if root is None or not root.is_active:
        return None
    connections = getattr(root, "connections", None)  # SQLAlchemy >= 2.1.7
    if connections is None:
        connections = [entry[0] for entry in root._connections.values()]
    return next(iter(connections), None)


def _aborted(connection) -> bool:
    """Whether PostgreSQL refuses every statement until ROLLBACK (an error inside the block)."""
    if connection.dialect.name != "postgresql":
        return False
    from psycopg.pq import TransactionStatus  # noqa: PLC0415  (PostgreSQL only)

    return connection.connection.dbapi_connection.info.transaction_status is TransactionStatus.INERROR


def _switch(session: Session, scope: Scope | None) -> None:
    """Make `scope` current and have it applied to the open transaction before its next
    statement (rls.defer_settings: consecutive switches cost one round trip, or none), unless
    that transaction has failed."""
    set_current_scope(scope)
    connection = _open_connection(session)
    if connection is not None and not _aborted(connection):
        defer_settings(connection, scope)


def _same(one: Scope | None, other: Scope | None) -> bool:
    return one is other or (one is not None and other is not None and one == other)


@contextmanager
def elevated(session: Session, why: Why, *, scope: Scope) -> Iterator[Scope]:
    """Run the block under `scope` for reason `why`; the caller's scope comes back afterwards."""
    if not isinstance(why, Why):
        raise TypeError("elevated() needs a Why")
    session = _real(session)
    previous = current_scope()
    if _same(previous, scope):  # already there (nested): nothing to switch, nothing to forget
        yield scope
        return
    stack = session.info.setdefault(_LOADED, [])
    stack.append([])
    _switch(session, scope)
    try:
        yield scope
        if session.new or session.dirty or session.deleted:
            session.flush()  # the block's writes are made under the block's scope
    finally:
        for instance in stack.pop():
            if instance in session:
                session.expunge(instance)
        _switch(session, previous)


def enter_scope(session: Session, why: Why, *, scope: Scope | None) -> None:
    """Start a unit of work (request, task, login, command) under `scope`; nothing is restored."""
    if not isinstance(why, Why):
        raise TypeError("enter_scope() needs a Why")
    _switch(_real(session), scope)


def run_as_system(session: Session, tenant_id: uuid.UUID) -> Scope:
    """A task or command runs as the system of tenant `tenant_id`; returns that scope."""
    scope = system_scope(tenant_id)
    enter_scope(session, Why.task, scope=scope)
    return scope


def forget_scope() -> None:
    """No scope at all (fail closed): between requests, and after a task."""
    set_current_scope(None)


@contextmanager
def kept_scope() -> Iterator[None]:
    """Whatever the block enters, the surrounding scope is current again afterwards.

    An eager task runs inside its caller's context and must not leave its system scope behind.
    """
    saved = current_scope()
    try:
        yield
    finally:
        set_current_scope(saved)


@event.listens_for(Session, "loaded_as_persistent")
def _note_loaded(session: Session, instance) -> None:
    stack = session.info.get(_LOADED)
    if stack:
        stack[-1].append(instance)
