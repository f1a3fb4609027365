"""Liveness and readiness probes, and the outbox check that operators alert on."""

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from sqlalchemy import text

from app.blueprint import Blueprint, TransactionalView
from app.errors import NotReady
from app.extensions import db
from app.platform import metrics
from app.platform.errors import OutboxLagging
from app.platform.lag import OutboxLag, outbox_lag

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


class ProbeSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})


class OutboxLagSchema(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok, or lagging when a threshold is passed",
                                        "example": "ok"})
    pending = ma.fields.Integer(metadata={"description": "Events not yet relayed (not dead)"})
    dead = ma.fields.Integer(metadata={"description": "Dead-lettered events waiting for a retry"})
    oldest_pending_age_seconds = ma.fields.Float(allow_none=True)
    problems = ma.fields.List(ma.fields.String(), metadata={"description": "What is over its threshold"})
    limits = ma.fields.Dict(metadata={"example": {"pending": 1000, "age_seconds": 300, "dead": 0}})


class ReadySchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ready"})
    outbox = ma.fields.Nested(OutboxLagSchema)
    counters = ma.fields.Dict(metadata={
        "description": "This process's counters (failed broker publishes, handler failures, ...)",
        "example": {"broker_publish_failed": 1}})


@blp.route("/healthz")
class Health(MethodView):
    @blp.public
    @blp.response(200, ProbeSchema)
    def get(self):
        """The process is alive."""
        return {"status": "ok"}


def _limits() -> dict:
    config = current_app.config
    return {"pending": config["OUTBOX_LAG_LIMIT"], "age_seconds": config["OUTBOX_AGE_LIMIT_SECONDS"],
            "dead": config["OUTBOX_DEAD_LIMIT"]}


def _report(lag: OutboxLag) -> dict:
    limits = _limits()
    problems = lag.problems(pending_limit=limits["pending"], age_limit_seconds=limits["age_seconds"],
                            dead_limit=limits["dead"])
    return {"status": "lagging" if problems else "ok", "pending": lag.pending, "dead": lag.dead,
            "oldest_pending_age_seconds": lag.oldest_pending_age_seconds, "problems": problems,
            "limits": limits}


def _measure() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return _report(outbox_lag(db.session))
    except Exception as error:  # any failure to reach the database means: not ready
        raise NotReady("The database does not answer.") from error
    finally:
        db.session.rollback()


@blp.route("/readyz")
class Ready(MethodView):
    @blp.public
    @blp.response(200, ReadySchema)
    @blp.errors(503)
    def get(self):
        """The database answers; how far the outbox relay is behind (a lagging relay is still ready)."""
        return {"status": "ready", "outbox": _measure(), "counters": metrics.snapshot()}


@blp.route("/readyz/outbox")
class OutboxReady(TransactionalView):  # reads only; its unit of work commits nothing
    @blp.public
    @blp.response(200, OutboxLagSchema)
    @blp.errors(503)
    def get(self):
        """Alert on this: 503 outbox_lagging when the relay is behind its thresholds or events are dead."""
        report = _measure()
        if report["problems"]:
            raise OutboxLagging("The outbox relay is behind: " + "; ".join(report["problems"]) + ".")
        return report
