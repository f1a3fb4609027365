"""The tenant's data-sharing policy: what an org sees of its descendants by default."""

from sqlalchemy.orm import Session

from app.platform.outbox import record_event
from app.tenancy.elevation import Why, elevated
from app.tenancy.enums import Dataset, Fidelity
from app.tenancy.errors import NotAManager
from app.tenancy.models import Tenant
from app.tenancy.network import actor_payload
from app.tenancy.permissions import Action, require
from app.tenancy.resolve import upstream_defaults
from app.tenancy.scope import Scope, system_scope


def get_policy(session: Session, scope: Scope) -> dict[Dataset, Fidelity]:
    with elevated(session, Why.read_tenant_policy, scope=system_scope(scope.tenant_id)):
        tenant = session.get(Tenant, scope.tenant_id)
    return upstream_defaults(tenant)


def set_policy(session: Session, scope: Scope, *, defaults: dict[Dataset, Fidelity]) -> dict:
    """The brand's own staff with policy.edit; changes apply from the next request of every org."""
    require(scope, Action.edit_sharing_policy)
    if not (scope.is_staff and scope.org_path and scope.org_path.count("/") == 2):
        raise NotAManager("Only the brand may change the data-sharing policy.")
    with elevated(session, Why.read_tenant_policy, scope=system_scope(scope.tenant_id)):
        tenant = session.get(Tenant, scope.tenant_id)
        before = upstream_defaults(tenant)
        merged = {**{d.value: f.value for d, f in before.items()},
                  **{d.value: f.value for d, f in defaults.items()}}
        tenant.settings = {**(tenant.settings or {}), "data_sharing": merged}
        record_event(session, tenant_id=tenant.id, owner_path=scope.org_path, type="policy.changed",
                     subject_id=tenant.id, payload={
                         "before": {d.value: f.value for d, f in before.items()},
                         "after": merged, **actor_payload(scope)})
        session.flush()
    return upstream_defaults(tenant)
