"""The one helper that applies a scope to queries: tenant key, path rules, own rows."""

import uuid
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, false, not_, or_, select, true
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.tenancy.enums import Fidelity
from app.tenancy.scope import DatasetView, PathRule, Scope

M = TypeVar("M")


def path_matches(column, rule: PathRule) -> ColumnElement[bool]:
    """A btree-friendly prefix test: path >= prefix AND path < prefix || '~'."""
    if rule.exact:
        return column == rule.prefix
    return and_(column >= rule.prefix, column < rule.prefix + "~")


def ancestor_paths(path: str) -> list[str]:
    """'/a/b/c/' → ['/a/', '/a/b/']: the orgs above the one at `path`."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts))]


def owner_path_column(model):
    return model.path if hasattr(model, "path") else model.owner_path


def rls_kind(model) -> str:
    """Which policy guards the model's table (app.tenancy.rls.PREDICATES and the migrations)."""
    return getattr(model, "__rls__", "subtree")


def visible(model, scope: Scope, *, at_least: Fidelity = Fidelity.masked) -> ColumnElement[bool]:
    """Rows of `model` the scope sees at `at_least` fidelity or better; the same rows RLS lets through.

    One branch per policy kind: a kind the database knows and this function does not is a bug
    (tests/integration/test_filters_match_rls.py compares both for every kind).
    """
    kind = rls_kind(model)
    if scope.platform and getattr(model, "__platform_reads__", False):  # the sweep reads across tenants
        return true()
    if kind == "tenant_self":
        return _tenant_self(model, scope)
    if kind == "platform":  # gateway rows: the platform scope routes them, a tenant reads its own
        return or_(_own_tenant(model, scope), true() if scope.platform else false())
    if kind == "tenant":  # the brand's catalog (products, SKUs) and tenant-wide bookkeeping
        return _own_tenant(model, scope)
    column = owner_path_column(model)
    view = scope.view(getattr(model, "__dataset__", None))
    if kind == "downward":  # grants do not widen prices: own subtree and ancestors only
        view = DatasetView(tuple(rule for rule in view.rules
                                 if scope.org_path and rule.prefix.startswith(scope.org_path)))
    clauses = _path_rules(column, view, scope, at_least)
    if kind in ("org_tree", "downward") and scope.org_path:  # the tree and prices flow down to me
        from_above = column.in_(ancestor_paths(scope.org_path))
        if hasattr(model, "buyer_org_id"):  # a price for one buyer is not for those below it
            from_above = and_(from_above, model.buyer_org_id.is_(None))
        clauses.append(from_above)
    if kind == "orders":  # an order is also seen from the seller's side, through the same view
        clauses += _path_rules(model.seller_path, view, scope, at_least)
    if scope.org_path and kind == "grants":  # a grant is also seen by its grantee's subtree
        clauses.append(path_matches(model.grantee_path, PathRule(scope.org_path, False, Fidelity.full)))
    consumer_column = getattr(model, "__consumer_column__", None)
    if scope.consumer_id is not None and consumer_column:
        clauses.append(getattr(model, consumer_column) == scope.consumer_id)
    return and_(_own_tenant(model, scope), or_(false(), *clauses))


def _own_tenant(model, scope: Scope) -> ColumnElement[bool]:
    """tenant_id = :tenant (it picks the index); no tenant in scope matches nothing, as in RLS."""
    return model.tenant_id == scope.tenant_id if scope.tenant_id is not None else false()


def _path_rules(column, view, scope: Scope, at_least: Fidelity) -> list[ColumnElement[bool]]:
    """The view's rules (own subtree, tenant default, grants) minus the narrower carve-outs."""
    if not (scope.is_staff or scope.consumer_id is None):
        return []
    clauses = []
    for rule, carve_outs in view.visible_rules(at_least):
        clause = path_matches(column, rule)
        if carve_outs:
            clause = and_(clause, not_(or_(*(path_matches(column, c) for c in carve_outs))))
        clauses.append(clause)
    return clauses


def _tenant_self(model, scope: Scope) -> ColumnElement[bool]:
    if scope.platform:
        return true()
    clauses = [model.id == scope.tenant_id] if scope.tenant_id else []
    if scope.tenant_slug:
        clauses.append(model.slug == scope.tenant_slug)
    return or_(false(), *clauses)


def scoped(model, scope: Scope, *, at_least: Fidelity = Fidelity.masked):
    """select(model) filtered to the scope."""
    return select(model).where(visible(model, scope, at_least=at_least))


def get_visible(session: Session, model: type[M], scope: Scope, row_id: uuid.UUID | None,
                *, at_least: Fidelity = Fidelity.masked) -> M:
    """The row with this id if the scope sees it; otherwise 404, whether or not it exists."""
    row = session.scalars(
        scoped(model, scope, at_least=at_least).where(model.id == row_id)
    ).one_or_none() if row_id is not None else None
    if row is None:
        raise NotFound(f"No {model.__tablename__[:-1].replace('_', ' ')} with that id.")
    return row
