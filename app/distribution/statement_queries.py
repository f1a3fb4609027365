"""Reading statements: the payer (brand finance) reads all of them, everyone else through the scope.

A beneficiary's org and its upline read statements at their `commissions` fidelity
(filters.scoped + RLS: own subtree, grants, carve-outs); a consumer-promoter reads their own.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.distribution.payouts import as_payer
from app.distribution.settlement_models import Payout, Statement, StatementStatus
from app.distribution.statements import root_path
from app.errors import NotFound
from app.paging import CursorKey, Page, paginate
from app.tenancy.filters import get_visible, scoped
from app.tenancy.permissions import Action, reach_of
from app.tenancy.scope import Scope


def is_payer(scope: Scope) -> bool:
    """The brand-level holder of statements.approve (the brand pays every statement)."""
    return (scope.is_staff and scope.org_path is not None and root_path(scope.org_path) == scope.org_path
            and reach_of(scope.role, Action.approve_statements) is not None)


def list_statements(session: Session, scope: Scope, *, status: StatementStatus | None = None,
                    limit: int = 50, cursor: CursorKey | None = None) -> Page[Statement]:
    """Newest first, one page of `limit` after `cursor` (app/paging.py)."""
    def query(statement):
        if status is not None:
            statement = statement.where(Statement.status == status)
        return paginate(session, statement, Statement, limit=limit, cursor=cursor)

    if is_payer(scope):
        with as_payer(session, scope):
            return query(select(Statement).where(Statement.tenant_id == scope.tenant_id))
    return query(scoped(Statement, scope))


def get_statement(session: Session, scope: Scope, statement_id: uuid.UUID) -> tuple[Statement, list[Payout]]:
    """The statement and its payout attempts, if the caller sees it (404 otherwise)."""
    if is_payer(scope):
        with as_payer(session, scope):
            statement = session.scalars(select(Statement).where(
                Statement.tenant_id == scope.tenant_id, Statement.id == statement_id)).one_or_none()
            if statement is None:
                raise NotFound("No distribution statement with that id.")
            return statement, _payouts(session, statement)
    statement = get_visible(session, Statement, scope, statement_id)
    return statement, _payouts(session, statement, scope)


def _payouts(session: Session, statement: Statement, scope: Scope | None = None) -> list[Payout]:
    query = select(Payout) if scope is None else scoped(Payout, scope)
    return list(session.scalars(query.where(Payout.tenant_id == statement.tenant_id,
                                            Payout.statement_id == statement.id).order_by(Payout.attempt)))
