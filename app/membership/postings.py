"""The points liability in the journal: earn, redeem, give back, reverse, expire, adjust.

Points are booked at their money value (programs.points_value_minor) on the brand's accounts:
earning is an expense and a liability (Dr points_expense, Cr points_liability); a redemption
pays part of an order (Dr points_liability, Cr the seller's sales revenue); expiry releases the
liability as breakage (Dr points_liability, Cr points_breakage); reversals run the other way.
Amounts that accumulate (reversals of one order, give-backs of one order) post the difference of
cumulative values, so the parts sum exactly to the value of the whole.
"""

import uuid

from sqlalchemy.orm import Session

from app.finance.accounts import ensure_account
from app.finance.journal import find_entry, post_entry
from app.finance.models import AccountCode, JournalEntry
from app.membership.models import MembershipProgram
from app.membership.programs import points_value_minor
from app.tenancy.elevation import Why, elevated
from app.tenancy.orgs import brand_root, org_by_id
from app.tenancy.scope import system_scope

A = AccountCode


def post_points(session: Session, program: MembershipProgram, *, kind: str, source_key: str,
                debit: AccountCode, credit: AccountCode, value_minor: int, details: dict,
                seller_org_id: uuid.UUID | None = None, memo: str | None = None) -> JournalEntry | None:
    """One entry of `value_minor` (negative swaps the sides); the seller's account for sales codes."""
    if value_minor == 0:
        return None
    if value_minor < 0:
        debit, credit, value_minor = credit, debit, -value_minor
    with elevated(session, Why.post_points, scope=system_scope(program.tenant_id)):
        brand = brand_root(session, program.tenant_id)
        seller = org_by_id(session, program.tenant_id, seller_org_id) if seller_org_id else brand

        def account(code: AccountCode):
            org = seller if code in (A.sales_revenue, A.sales_returns) else brand
            return ensure_account(session, tenant_id=program.tenant_id, org=org, code=code,
                                  currency=program.currency)

        return post_entry(session, tenant_id=program.tenant_id, owner_path=brand.path, kind=kind,
                          source_key=source_key, currency=program.currency,
                          lines=[(account(debit), value_minor), (account(credit), -value_minor)],
                          memo=memo or kind.replace("_", " "), details=details)


def redemption_posted(session: Session, tenant_id: uuid.UUID, order_id: uuid.UUID) -> bool:
    with elevated(session, Why.post_points, scope=system_scope(tenant_id)):
        return find_entry(session, tenant_id, f"points.redeem:{order_id}") is not None


def value_difference(program: MembershipProgram, before: int, after: int) -> int:
    """value(after) - value(before): the part of a cumulative amount's value this step adds."""
    return points_value_minor(program, after) - points_value_minor(program, before)
