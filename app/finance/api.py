"""Finance endpoints: account balances and journal entries in my scope."""

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.finance import journal
from app.finance.accounts import account_balances
from app.finance.schemas import AccountBalanceSchema, AccountQuery, EntryQuery, EntrySchema
from app.paging import page_of
from app.tenancy.permissions import Action, require

blp = Blueprint("finance", __name__, url_prefix="/finance", description="The journal: balances and entries")


def finance_scope():
    scope = staff_only()
    require(scope, Action.view_finance)
    return scope


@blp.route("/accounts")
class Accounts(TransactionalView):
    @blp.arguments(AccountQuery, location="query")
    @blp.response(200, AccountBalanceSchema(many=True))
    @blp.errors(401, 403)
    def get(self, query):
        """Accounts in my scope with their balances."""
        return account_balances(db.session, finance_scope(), **query)


@blp.route("/entries")
class Entries(TransactionalView):
    @blp.arguments(EntryQuery, location="query")
    @blp.response(200, page_of(EntrySchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Journal entries in my scope, newest first, with the lines on accounts I see."""
        return journal.list_entries(db.session, finance_scope(), **query)
