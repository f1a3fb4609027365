"""Liveness and readiness probes."""

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import text

from app.blueprint import Blueprint
from app.errors import NotReady
from app.extensions import db

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


class ProbeSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})


@blp.route("/healthz")
class Health(MethodView):
    @blp.public
    @blp.response(200, ProbeSchema)
    def get(self):
        """The process is alive."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.public
    @blp.response(200, ProbeSchema)
    @blp.errors(503)
    def get(self):
        """The database answers."""
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as error:  # any failure to reach the database means: not ready
            raise NotReady("The database does not answer.") from error
        finally:
            db.session.rollback()
        return {"status": "ready"}
