"""Refusals of settlement, statements, payouts and withdrawals, each with its code and HTTP status."""

from app.errors import DomainError


class StatementNotInState(DomainError):
    """The statement is not in a state that allows the action (approve twice, pay unapproved...)."""

    status, code = 409, "statement_not_in_state"


class NoPayoutAccount(DomainError):
    status, code = 409, "no_payout_account"


class NothingToPay(DomainError):
    status, code = 409, "nothing_to_pay"


class WithdrawalBelowMinimum(DomainError):
    status, code = 409, "withdrawal_below_minimum"


class NotAPromoter(DomainError):
    """An API key (or anyone without a promoter balance of their own) has nothing to withdraw."""

    status, code = 409, "not_a_promoter"
