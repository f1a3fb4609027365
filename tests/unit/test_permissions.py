"""The permission table as data: require, reach, no escalation, and the published matrix."""

import re
import uuid
from pathlib import Path

import pytest

from app.tenancy.enums import ActorKind, Role
from app.tenancy.permissions import (
    CONSUMER_ACTIONS,
    ROLE_ACTIONS,
    Action,
    PermissionDenied,
    Reach,
    grantable,
    render_matrix,
    require,
    rewrite_marked_section,
)
from app.tenancy.scope import Scope

TENANT = uuid.uuid4()
DISTRIBUTOR, STORE, SIBLING = "/b/d/", "/b/d/s/", "/b/e/"
DOC = Path(__file__).resolve().parents[2] / "docs" / "auth.md"


def staff(role: Role, path: str = DISTRIBUTOR, kind: ActorKind = ActorKind.staff) -> Scope:
    return Scope(tenant_id=TENANT, actor_kind=kind, actor_id=uuid.uuid4(), org_id=uuid.uuid4(),
                 org_path=path, role=role)


def test_a_role_without_the_action_is_refused_with_the_permission_named():
    with pytest.raises(PermissionDenied) as refused:
        require(staff(Role.viewer), Action.approve_refund)
    assert refused.value.status == 403 and refused.value.code == "forbidden"
    assert refused.value.extra == {"permission": "refund.approve"}
    assert "refund.approve" in refused.value.message


def test_an_api_key_gets_exactly_its_roles_actions():
    for role, actions in ROLE_ACTIONS.items():
        key = staff(role, kind=ActorKind.api_key)
        for action in Action:
            if action in actions:
                require(key, action)
            else:
                with pytest.raises(PermissionDenied):
                    require(key, action)


def test_own_reach_acts_on_the_own_org_only_and_subtree_reach_also_below_it():
    finance, admin = staff(Role.finance), staff(Role.admin)
    require(finance, Action.approve_refund, on=DISTRIBUTOR)
    with pytest.raises(PermissionDenied, match="own org's rows only"):
        require(finance, Action.approve_refund, on=STORE)
    require(admin, Action.approve_refund, on=STORE)
    with pytest.raises(PermissionDenied, match="another org"):
        require(admin, Action.approve_refund, on=SIBLING)
    with pytest.raises(PermissionDenied):
        require(admin, Action.ship_order, on=STORE)  # nobody upstream ships a store's order


def test_consumers_hold_only_their_own_actions_and_the_system_holds_all():
    consumer = Scope(tenant_id=TENANT, actor_kind=ActorKind.consumer, consumer_id=uuid.uuid4())
    system = Scope(tenant_id=TENANT, actor_kind=ActorKind.system, org_path="/")
    for action in Action:
        require(system, action, on=STORE)
        if action in CONSUMER_ACTIONS:
            require(consumer, action)
        else:
            with pytest.raises(PermissionDenied):
                require(consumer, action)


@pytest.mark.parametrize(("granter", "role", "allowed"), [
    (Role.owner, Role.owner, True), (Role.admin, Role.owner, False), (Role.admin, Role.admin, True),
    (Role.admin, Role.finance, True), (Role.admin, Role.viewer, True),
    (Role.finance, Role.buyer, False), (Role.finance, Role.viewer, True),
    (Role.guide, Role.buyer, False), (Role.viewer, Role.guide, False), (None, Role.viewer, False),
])
def test_a_caller_grants_only_roles_at_or_below_its_own(granter, role, allowed):
    assert grantable(granter, role) is allowed


def test_no_role_can_grant_an_action_or_reach_it_does_not_hold():
    for granter in Role:
        for role in Role:
            if grantable(granter, role):
                mine = ROLE_ACTIONS[granter]
                for action, reach in ROLE_ACTIONS[role].items():
                    assert action in mine and (mine[action] is Reach.subtree or reach is Reach.own)


def test_the_matrix_in_docs_auth_md_is_the_one_in_the_code():
    document = DOC.read_text(encoding="utf-8")
    assert render_matrix() in document
    assert rewrite_marked_section(document) == document, (
        "docs/auth.md is stale: run `flask --app wsgi permissions-matrix --write`")


def test_the_matrix_lists_every_action_and_every_role():
    table = render_matrix()
    assert all(f"`{action.value}`" in table for action in Action)
    assert all(f" {role.value} |" in table.splitlines()[0] for role in Role)


def test_every_action_in_the_table_is_checked_by_some_service():
    """An action no service requires would be a permission that grants nothing (docs/auth.md)."""
    root = Path(__file__).resolve().parents[2] / "app"
    sources = "\n".join(path.read_text() for path in root.rglob("*.py")
                        if path.name != "permissions.py")
    named = set(re.findall(r"Action\.([a-z_]+)", sources))
    assert [action.name for action in Action if action.name not in named] == []
