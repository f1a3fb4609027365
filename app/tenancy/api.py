"""Network endpoints: orgs, staff, data-sharing grants, consumers, and who I am."""

import marshmallow as ma

from app.auth.request import request_scope, staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.paging import PageQuery, page_of
from app.platform.audit import list_audit
from app.tenancy import consumers, grants, network, orgs, policy
from app.tenancy.filters import get_visible
from app.tenancy.models import Org
from app.tenancy.permissions import permissions_of
from app.tenancy.schemas import (
    AuditEntrySchema,
    AuditQuery,
    ConsumerSchema,
    ConsumerSummarySchema,
    GrantSchema,
    GrantSetSchema,
    MeSchema,
    OrgCreateSchema,
    OrgListQuery,
    OrgMoveSchema,
    OrgSchema,
    PolicySchema,
    UserCreateSchema,
    UserSchema,
)

blp = Blueprint("network", __name__, url_prefix="/network",
                description="The org tree, staff, data-sharing grants and consumers")


@blp.route("/me")
class Me(TransactionalView):
    @blp.response(200, MeSchema)
    @blp.errors(401)
    def get(self):
        """Who I am and what I see of each dataset."""
        scope = request_scope()
        return {"tenant_id": scope.tenant_id, "actor_kind": scope.actor_kind.value,
                "actor_id": scope.actor_id, "org_id": scope.org_id, "org_path": scope.org_path,
                "role": scope.role.value if scope.role else None,
                "fidelity": {d.value: v.max_fidelity().value for d, v in scope.views.items()},
                "permissions": permissions_of(scope)}


@blp.route("/orgs")
class Orgs(TransactionalView):
    @blp.arguments(OrgListQuery, location="query")
    @blp.response(200, page_of(OrgSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Orgs I see: my subtree and the orgs above me, newest first."""
        return orgs.list_orgs(db.session, staff_only(), **query)

    @blp.arguments(OrgCreateSchema)
    @blp.response(201, OrgSchema)
    @blp.errors(401, 403, 404)
    def post(self, body):
        """Create a distributor or store under an org I manage."""
        return network.create_org(db.session, staff_only(), **body)


@blp.route("/orgs/<uuid:org_id>")
class OrgItem(TransactionalView):
    @blp.response(200, OrgSchema)
    @blp.errors(401, 403, 404)
    def get(self, org_id):
        """One org in my scope."""
        return get_visible(db.session, Org, staff_only(), org_id)


@blp.route("/orgs/<uuid:org_id>/move")
class OrgMove(TransactionalView):
    @blp.arguments(OrgMoveSchema)
    @blp.response(200, OrgSchema)
    @blp.errors(401, 403, 404)
    def post(self, body, org_id):
        """Move an org and its subtree under another parent (e.g. a store changes distributor)."""
        return network.move_subtree(db.session, staff_only(), org_id=org_id, **body)


@blp.route("/orgs/<uuid:org_id>/deactivate")
class OrgDeactivate(TransactionalView):
    @blp.response(200, OrgSchema)
    @blp.errors(401, 403, 404)
    def post(self, org_id):
        """Deactivate an org and its subtree; their staff can no longer sign in."""
        return network.deactivate_org(db.session, staff_only(), org_id=org_id)


@blp.route("/orgs/<uuid:org_id>/users")
class OrgUsers(TransactionalView):
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    @blp.errors(401, 403, 404, 409)
    def post(self, body, org_id):
        """Add a staff member to an org I manage."""
        return network.create_user(db.session, staff_only(), org_id=org_id, **body)


@blp.route("/grants")
class Grants(TransactionalView):
    @blp.response(200, GrantSchema(many=True))
    @blp.errors(401, 403)
    def get(self):
        """Grants made by my subtree and grants made to my org."""
        return grants.list_grants(db.session, staff_only())

    @blp.arguments(GrantSetSchema)
    @blp.response(200, GrantSchema)
    @blp.errors(401, 403, 404)
    def put(self, body):
        """Set what another org sees of one of my datasets (owner/admin of the grantor only)."""
        return grants.set_grant(db.session, staff_only(), **body)


@blp.route("/grants/<uuid:grant_id>")
class GrantItem(TransactionalView):
    @blp.response(204)
    @blp.errors(401, 403, 404)
    def delete(self, grant_id):
        """Revoke a grant; the grantee falls back to the tenant default."""
        grants.revoke_grant(db.session, staff_only(), grant_id=grant_id)


@blp.route("/consumers")
class Consumers(TransactionalView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, page_of(ConsumerSchema))
    @blp.errors(401, 403)
    def get(self, query):
        """Consumers I see row by row, personal data masked by fidelity."""
        return consumers.list_consumers(db.session, staff_only(), **query)


@blp.route("/consumers/summary")
class ConsumerSummary(TransactionalView):
    @blp.response(200, ConsumerSummarySchema(many=True))
    @blp.errors(401, 403)
    def get(self):
        """Member counts per store, including stores I see only in aggregate."""
        return consumers.consumer_counts(db.session, staff_only())


@blp.route("/consumers/<uuid:consumer_id>")
class ConsumerItem(TransactionalView):
    @blp.response(200, ConsumerSchema)
    @blp.errors(401, 403, 404)
    def get(self, consumer_id):
        """One consumer (a consumer may read their own record)."""
        return consumers.get_consumer(db.session, request_scope(), consumer_id)


@blp.route("/policy")
class Policy(TransactionalView):
    @blp.response(200, PolicySchema)
    @blp.errors(401, 403)
    def get(self):
        """The tenant's default fidelity of each dataset towards upstream orgs."""
        return {"defaults": policy.get_policy(db.session, staff_only())}

    @blp.arguments(PolicySchema)
    @blp.response(200, PolicySchema)
    @blp.errors(401, 403)
    def put(self, body):
        """Change the defaults (brand owner/admin only); grants still override them."""
        defaults = policy.set_policy(db.session, staff_only(), defaults=body["defaults"])
        return {"defaults": defaults}


@blp.route("/audit")
class Audit(TransactionalView):
    @blp.arguments(AuditQuery, location="query", unknown=ma.RAISE)  # a mistyped filter is a 422
    @blp.response(200, page_of(AuditEntrySchema))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """Who moved money, stock or permissions in my subtree; filter by actor, action, subject, time."""
        return list_audit(db.session, staff_only(), **query)
