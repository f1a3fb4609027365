"""The one helper that applies a scope to queries: tenant key, path rules, own rows."""

import uuid
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, false, not_, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.tenancy.enums import Fidelity
from app.tenancy.scope import PathRule, Scope

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


def visible(model, scope: Scope, *, at_least: Fidelity = Fidelity.masked,
            path_column=None) -> ColumnElement[bool]:
    """Rows of `model` the scope sees at `at_least` fidelity or better (judged by the owner
    path, or by `path_column`, e.g. an order's seller path)."""
    clauses = []
    column = owner_path_column(model) if path_column is None else path_column
    dataset = getattr(model, "__dataset__", None)
    if scope.is_staff or scope.consumer_id is None:
        for rule, carve_outs in scope.view(dataset).visible_rules(at_least):
            clause = path_matches(column, rule)
            if carve_outs:
                clause = and_(clause, not_(or_(*(path_matches(column, c) for c in carve_outs))))
            clauses.append(clause)
    if getattr(model, "__rls__", None) in ("org_tree", "downward") and scope.org_path:
        from_above = column.in_(ancestor_paths(scope.org_path))
        if hasattr(model, "buyer_org_id"):  # a price for one buyer is not for those below it
            from_above = and_(from_above, model.buyer_org_id.is_(None))
        clauses.append(from_above)
    consumer_column = getattr(model, "__consumer_column__", None)
    if scope.consumer_id is not None and consumer_column:
        clauses.append(getattr(model, consumer_column) == scope.consumer_id)
    return and_(model.tenant_id == scope.tenant_id, or_(false(), *clauses))


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
