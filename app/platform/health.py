"""Liveness and readiness probes."""

from flask.views import MethodView
from sqlalchemy import text

from app.blueprint import Blueprint
from app.errors import DomainError
from app.extensions import db

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        """The process is alive."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200)
    @blp.errors(503)
    def get(self):
        """The database answers."""
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as error:
            raise DomainError("The database does not answer.", code="not_ready", status=503) from error
        finally:
            db.session.rollback()
        return {"status": "ready"}
