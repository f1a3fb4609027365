"""Who may do what (操作权限): one enum of actions, one table role → actions, one `require`.

Visibility (scope.py) says which rows a caller sees; this says what its role may *do*. Each
grant of an action has a reach, after commercetools' "my orders / others' orders":
`own` acts on rows of the caller's own org only, `subtree` also on rows of the orgs below it
(a distributor's admin approving a store's refund). Services call `require(scope, action)` first
thing, and `require(scope, action, on=org_path)` once they know which org's row they act on.
Roles are fixed for now; the table is data so that a tenant can define its own roles later.
"""

from enum import StrEnum

from app.tenancy.enums import ActorKind, Role
from app.tenancy.errors import PermissionDenied
from app.tenancy.scope import Scope


class Action(StrEnum):
    """Everything that changes state, named `<subject>.<verb>`: the name a 403 carries."""

    # orders and after-sales
    place_supply_order = "order.place_supply"  # replenish (a store) or purchase (a distributor)
    sell_in_store = "order.sell_in_store"
    place_retail_order = "order.place_retail"
    pay_order = "order.pay"  # start paying my org's order, or pay it on credit
    cancel_order = "order.cancel"
    ship_order = "order.ship"
    confirm_receipt = "order.confirm_receipt"
    request_refund = "refund.request"
    approve_refund = "refund.approve"
    reject_refund = "refund.reject"
    # money
    confirm_payment = "payment.confirm"
    post_repayment = "credit.post_repayment"
    set_credit_limit = "credit.set_limit"
    view_finance = "finance.view"
    export = "finance.export"
    approve_statements = "statements.approve"
    retry_dead_letters = "events.retry_dead_letters"
    adjust_points = "points.adjust"
    # catalog and stock
    edit_catalog = "catalog.edit"
    edit_price_bands = "price_bands.edit"
    edit_price_lists = "price_lists.edit"
    edit_assortment = "assortment.edit"
    adjust_stock = "stock.adjust"
    # the network
    manage_network = "network.manage"
    manage_users = "users.manage"
    manage_api_keys = "api_keys.manage"
    grant_data = "grants.edit"
    edit_sharing_policy = "policy.edit"
    view_audit = "audit.view"
    # finance controls (finance-b)
    close_periods = "periods.close"
    correct_entries = "journal.correct"
    reconcile = "finance.reconcile"
    # membership
    configure_membership = "membership.configure"  # the brand's program and levels
    join_membership = "membership.join"  # a consumer takes the member card
    # distribution
    manage_commissions = "commissions.manage"  # plans, rules and promoter levels (the brand's terms)
    approve_promoters = "promoters.approve"
    rebind_customers = "bindings.rebind"  # move a customer to another promoter (audited)
    become_promoter = "promoters.apply"  # a consumer applies to share
    bind_referral = "bindings.bind"  # a consumer opens a promoter's share link or QR code
    # distribution settlement
    request_withdrawal = "withdrawals.request"  # a promoter takes their available money now (a fee applies)
    # membership: coupons and the points mall
    manage_coupons = "coupons.manage"  # templates and targeted issuance (the brand)
    manage_mall = "mall.manage"  # points-mall items (the brand)
    claim_coupon = "coupon.claim"  # a member takes a claimable coupon


class Reach(StrEnum):
    own = "own"  # rows of the caller's own org
    subtree = "subtree"  # also rows of every org below it


A = Action
OWN, SUBTREE = Reach.own, Reach.subtree

_MANAGER: dict[Action, Reach] = {
    A.place_supply_order: OWN, A.sell_in_store: OWN, A.pay_order: OWN,
    A.cancel_order: SUBTREE, A.ship_order: OWN,
    A.confirm_receipt: OWN, A.request_refund: OWN, A.approve_refund: SUBTREE,
    A.reject_refund: SUBTREE,
    A.confirm_payment: OWN, A.post_repayment: OWN, A.set_credit_limit: OWN,
    A.view_finance: SUBTREE, A.export: SUBTREE, A.approve_statements: SUBTREE,
    A.retry_dead_letters: SUBTREE, A.adjust_points: SUBTREE,
    A.edit_catalog: OWN, A.edit_price_bands: OWN, A.edit_price_lists: SUBTREE,
    A.edit_assortment: SUBTREE, A.adjust_stock: OWN,
    A.manage_network: SUBTREE, A.manage_users: SUBTREE, A.manage_api_keys: SUBTREE,
    A.grant_data: OWN, A.edit_sharing_policy: OWN, A.view_audit: SUBTREE,
    # finance controls (finance-b): the brand's books, so the brand's own org
    A.close_periods: OWN, A.correct_entries: OWN, A.reconcile: OWN,
    A.configure_membership: OWN,  # membership
    # membership: coupons and the points mall
    A.manage_coupons: OWN, A.manage_mall: OWN,
    # distribution; a manager may also take their own promoter money now (a fee applies)
    A.manage_commissions: OWN, A.approve_promoters: SUBTREE, A.rebind_customers: SUBTREE,
    A.request_withdrawal: OWN,
}

# The one table. Owner and admin hold the same actions; only an owner may make owners.
ROLE_ACTIONS: dict[Role, dict[Action, Reach]] = {
    Role.owner: _MANAGER,
    Role.admin: _MANAGER,
    Role.finance: {
        A.pay_order: OWN, A.approve_refund: OWN, A.reject_refund: OWN,
        A.confirm_payment: OWN, A.post_repayment: OWN, A.set_credit_limit: OWN,
        A.view_finance: SUBTREE, A.export: SUBTREE, A.approve_statements: SUBTREE,
        A.retry_dead_letters: SUBTREE, A.view_audit: SUBTREE,
        # finance controls (finance-b)
        A.close_periods: OWN, A.correct_entries: OWN, A.reconcile: OWN,
    },
    Role.buyer: {
        A.place_supply_order: OWN, A.pay_order: OWN, A.cancel_order: OWN, A.ship_order: OWN,
        A.confirm_receipt: OWN, A.request_refund: OWN, A.edit_assortment: OWN,
        A.adjust_stock: OWN,
    },
    # Shopping guides sell and serve their customers: in-store sales, hand-over, after-sales
    # requests and points for their members; never refund decisions.
    Role.guide: {
        A.sell_in_store: OWN, A.ship_order: OWN, A.cancel_order: OWN, A.request_refund: OWN,
        A.adjust_points: OWN, A.request_withdrawal: OWN,  # guides are promoters too
    },
    Role.viewer: {},
}

# A consumer acts only on their own rows; the services check whose order it is.
CONSUMER_ACTIONS = frozenset({A.place_retail_order, A.pay_order, A.cancel_order,
                              A.confirm_receipt, A.request_refund,
                              A.join_membership, A.claim_coupon,  # membership
                              A.become_promoter, A.bind_referral,  # distribution
                              A.request_withdrawal})  # a promoter takes their available money

# Higher grants more; roles of one rank are peers (none of them grants another's role).
ROLE_RANK = {Role.owner: 3, Role.admin: 2, Role.finance: 1, Role.buyer: 1, Role.guide: 1,
             Role.viewer: 0}


def reach_of(role: Role | None, action: Action) -> Reach | None:
    return ROLE_ACTIONS.get(role, {}).get(action) if role else None


def permissions_of(scope: Scope) -> dict[str, str]:
    """What the caller may do: permission → reach ('own rows' for a consumer)."""
    if scope.actor_kind is ActorKind.consumer:
        return {action.value: "own rows" for action in Action if action in CONSUMER_ACTIONS}
    if scope.actor_kind is ActorKind.system:
        return {action.value: Reach.subtree.value for action in Action}
    return {action.value: reach.value for action, reach in ROLE_ACTIONS.get(scope.role, {}).items()}


def require(scope: Scope, action: Action, *, on: str | None = None) -> None:
    """Refuse (403 forbidden naming `action`) unless the caller may do it, on org path `on` if given.

    `on` is the path of the org whose row the action touches (the seller of an order being
    shipped, the org a user is added to): the caller's own org needs any reach, an org below
    it needs `subtree`, any other org is refused.
    """
    if scope.actor_kind is ActorKind.system:
        return
    if scope.actor_kind is ActorKind.consumer:
        if action in CONSUMER_ACTIONS:
            return
        raise PermissionDenied(action, f"Consumers may not {_verb(action)} ('{action}').")
    reach = reach_of(scope.role, action)
    role = scope.role.value if scope.role else "none"
    if reach is None:
        raise PermissionDenied(
            action, f"The {role} role may not {_verb(action)}: it lacks the permission '{action}'.")
    if on is None or on == scope.org_path:
        return
    if reach is Reach.subtree and scope.org_path and on.startswith(scope.org_path):
        return
    where = "an org below yours" if scope.org_path and on.startswith(scope.org_path) else "another org"
    raise PermissionDenied(
        action, f"The {role} role has '{action}' for {_reach_words(reach)} only, not for {where}.")


def grantable(granter: Role | None, role: Role) -> bool:
    """A caller grants only roles at or below its own, and never an action it does not hold."""
    if granter is None:
        return False
    if granter is not role and ROLE_RANK[role] >= ROLE_RANK[granter]:
        return False
    mine = ROLE_ACTIONS[granter]
    return all(action in mine and _covers(mine[action], reach)
               for action, reach in ROLE_ACTIONS[role].items())


def _covers(held: Reach, wanted: Reach) -> bool:
    return held is Reach.subtree or wanted is Reach.own


def _verb(action: Action) -> str:
    return action.name.replace("_", " ")


def _reach_words(reach: Reach) -> str:
    return "your own org's rows" if reach is Reach.own else "your org and the orgs below it"


# --- the published matrix (docs/auth.md, rewritten by `flask permissions-matrix --write`) ----

MATRIX_BEGIN = "<!-- permissions-matrix:begin: generated, edit app/tenancy/permissions.py -->"
MATRIX_END = "<!-- permissions-matrix:end -->"
_CELL = {Reach.own: "own", Reach.subtree: "subtree", None: "·"}


def render_matrix() -> str:
    """The role → action table as Markdown, straight from ROLE_ACTIONS and CONSUMER_ACTIONS."""
    roles = list(Role)
    lines = ["| Permission | Action | " + " | ".join(role.value for role in roles) + " | consumer |",
             "|---|---|" + "---|" * (len(roles) + 1)]
    for action in Action:
        cells = [_CELL[reach_of(role, action)] for role in roles]
        cells.append("own rows" if action in CONSUMER_ACTIONS else "·")
        lines.append(f"| `{action.value}` | {_verb(action)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rewrite_marked_section(document: str) -> str:
    """`document` with the text between the matrix markers replaced by the current matrix."""
    head, begin, rest = document.partition(MATRIX_BEGIN)
    _, end, tail = rest.partition(MATRIX_END)
    if not begin or not end:
        raise ValueError("the document has no permissions-matrix markers")
    return f"{head}{MATRIX_BEGIN}\n{render_matrix()}\n{MATRIX_END}{tail}"
