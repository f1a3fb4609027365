"""`GET /metrics`: the Prometheus exposition of app.platform.metrics, plus the outbox's lag read
from the database at scrape time.

Not public: without METRICS_TOKEN set every scrape is 401 (metrics off); with it, the scraper
sends `Authorization: Bearer <METRICS_TOKEN>` (Prometheus: `authorization: {credentials: ...}`).
Under gunicorn (several processes) set PROMETHEUS_MULTIPROC_DIR to an empty directory before
start: each process writes its samples there and a scrape adds them up (prometheus_client's
multiprocess mode).
"""

import hmac
import os

from flask import Response, current_app, request
from flask.views import MethodView
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from app.blueprint import Blueprint
from app.extensions import db
from app.platform.errors import InvalidMetricsToken
from app.platform.lag import outbox_lag

blp = Blueprint("metrics", __name__, description="Prometheus metrics (needs METRICS_TOKEN)")
SECURITY = {"metricsToken": {"type": "http", "scheme": "bearer",
                             "description": "The scraper's token (METRICS_TOKEN); not a tenant credential"}}


def _check_token() -> None:
    expected = current_app.config.get("METRICS_TOKEN")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), expected.encode()):
        raise InvalidMetricsToken("Send the metrics token: 'Authorization: Bearer <METRICS_TOKEN>'.")


def _outbox_families() -> list[GaugeMetricFamily]:
    up = GaugeMetricFamily("tiermall_database_up", "1 when the outbox figures could be read")
    try:
        lag = outbox_lag(db.session)
    except Exception:  # a scrape while the database is down still shows the process's metrics
        up.add_metric([], 0)
        return [up]
    finally:
        db.session.rollback()
    up.add_metric([], 1)
    pending = GaugeMetricFamily("tiermall_outbox_pending", "Outbox events not yet relayed (not dead)")
    pending.add_metric([], lag.pending)
    dead = GaugeMetricFamily("tiermall_outbox_dead", "Dead-lettered outbox events")
    dead.add_metric([], lag.dead)
    age = GaugeMetricFamily("tiermall_outbox_lag_seconds", "Age of the oldest pending outbox event (0: none)")
    age.add_metric([], lag.oldest_pending_age_seconds or 0.0)
    return [up, pending, dead, age]


class _Families:
    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def exposition() -> bytes:
    """This process's metrics (or every process's, in multiprocess mode) plus the outbox's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    now = CollectorRegistry()
    now.register(_Families(_outbox_families()))
    return generate_latest(processes) + generate_latest(now)


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.doc(security=[{"metricsToken": []}], responses={"200": {
        "description": "Prometheus text exposition format",
        "content": {"text/plain": {"schema": {"type": "string"}}}}})
    @blp.errors(401)
    def get(self):
        """Prometheus metrics of this deployment (for the scraper holding METRICS_TOKEN)."""
        _check_token()
        return Response(exposition(), content_type=CONTENT_TYPE_LATEST)


def register(api) -> None:
    api.spec.components.security_scheme("metricsToken", SECURITY["metricsToken"])
    api.register_blueprint(blp)
