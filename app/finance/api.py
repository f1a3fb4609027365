"""Finance endpoints: balances, journal entries, trial balance and statements of account in my scope."""

import marshmallow as ma

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.finance import books, journal
from app.finance.accounts import account_balances
from app.finance.schemas import (
    AccountBalanceSchema,
    AccountQuery,
    EntryQuery,
    EntrySchema,
    StatementQuery,
    StatementSchema,
    TrialBalanceQuery,
    TrialBalanceSchema,
)
from app.paging import page_of
from app.tenancy.permissions import Action, require

blp = Blueprint("finance", __name__, url_prefix="/finance", description="The journal: balances and entries")


def finance_scope():
    scope = staff_only()
    require(scope, Action.view_finance)
    return scope


@blp.route("/accounts")
class Accounts(TransactionalView):
    @blp.arguments(AccountQuery, location="query", unknown=ma.RAISE)  # a mistyped filter is a 422
    @blp.response(200, AccountBalanceSchema(many=True))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Accounts in my scope with their balances."""
        return account_balances(db.session, finance_scope(), **query)


@blp.route("/entries")
class Entries(TransactionalView):
    @blp.arguments(EntryQuery, location="query", unknown=ma.RAISE)  # a mistyped filter is a 422
    @blp.response(200, page_of(EntrySchema))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Journal entries in my scope, newest first, with the lines on accounts I see."""
        return journal.list_entries(db.session, finance_scope(), **query)


@blp.route("/trial-balance")
class TrialBalance(TransactionalView):
    @blp.arguments(TrialBalanceQuery, location="query", unknown=ma.RAISE)
    @blp.response(200, TrialBalanceSchema)
    @blp.errors(401, 403, 404, 422)
    def get(self, query):
        """Trial balance as of a moment: every account I see, or one org's, with totals per currency."""
        return books.org_trial_balance(db.session, finance_scope(), **query)


@blp.route("/statements/<uuid:org_id>")
class Statement(TransactionalView):
    @blp.arguments(StatementQuery, location="query", unknown=ma.RAISE)
    @blp.response(200, StatementSchema)
    @blp.errors(401, 403, 404, 422)
    def get(self, query, org_id):
        """Statement of account of a buying org: per supplier, what it bought, paid, repaid and owes."""
        return books.statement_of_account(db.session, finance_scope(), org_id=org_id, **query)
