"""Celery wired to the app: every task runs in the app context and cleans its session up."""

import uuid

from celery import Celery, Task
from flask import Flask

from app.extensions import celery as celery_app
from app.extensions import db
from app.tenancy.elevation import Why, enter_scope, kept_scope, run_as_system
from app.tenancy.scope import PLATFORM_SCOPE


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with kept_scope(), app.app_context():  # an eager task runs inside its caller's context
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    celery_app.Task = FlaskTask
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.conf.beat_schedule.update({
        "relay-outbox": {"task": "app.platform.tasks.relay_all_outboxes", "schedule": 30.0},
    })
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


@celery_app.task(name="app.platform.tasks.relay_outbox")
def relay_outbox(tenant_id: str) -> int:
    """Hand one tenant's pending events to their handlers; returns how many were relayed."""
    from app.platform.outbox import relay_pending  # noqa: PLC0415

    run_as_system(db.session, uuid.UUID(tenant_id))
    relayed = relay_pending(db.session, tenant_id=uuid.UUID(tenant_id))
    db.session.commit()
    return relayed


@celery_app.task(name="app.platform.tasks.relay_all_outboxes")
def relay_all_outboxes() -> int:
    """The sweep that picks up whatever an after-commit enqueue lost (broker or worker down)."""
    from app.tenancy.models import Tenant  # noqa: PLC0415

    enter_scope(db.session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
    tenant_ids = db.session.scalars(db.select(Tenant.id)).all()
    db.session.commit()
    return sum(relay_outbox.run(str(tenant_id)) for tenant_id in tenant_ids)
