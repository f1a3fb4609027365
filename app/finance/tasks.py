"""Finance tasks: run an export job as the scope that asked; sweep queued jobs and expired files."""

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.extensions import celery as celery_app
from app.extensions import db
from app.finance.exports import jobs
from app.finance.models import ExportJob, ExportStatus
from app.tenancy.elevation import Why, enter_scope, kept_scope, run_as_system
from app.tenancy.scope import PLATFORM_SCOPE
from app.uow import unit_of_work

log = logging.getLogger(__name__)

STALE_QUEUED = timedelta(seconds=60)  # a publish that was lost: the sweep runs the job instead
STALLED = timedelta(minutes=5)


def _report_progress(tenant_id: uuid.UUID, job_id: uuid.UUID, rows: int) -> None:
    """Rows done, committed by a session of its own: the export's transaction is still open."""
    with kept_scope(), Session(db.engine) as side:
        run_as_system(side, tenant_id)
        side.execute(update(ExportJob).where(ExportJob.tenant_id == tenant_id, ExportJob.id == job_id)
                     .values(rows_done=rows, updated_at=utcnow()))
        side.commit()


def _progress_reporter(tenant_id: uuid.UUID, job_id: uuid.UUID) -> Callable[[int], None]:
    """PostgreSQL only: on SQLite the side session would wait for the export's own write lock."""
    if db.engine.dialect.name != "postgresql":
        return lambda rows: None
    return lambda rows: _report_progress(tenant_id, job_id, rows)


@celery_app.task(name="app.finance.tasks.run_export")
def run_export(tenant_id: str, job_id: str) -> str:
    """Claim the job, count its rows, write its file as the asker, record path, size and checksum."""
    tenant, job_key = uuid.UUID(tenant_id), uuid.UUID(job_id)
    config = current_app.config
    with unit_of_work() as session:
        run_as_system(session, tenant)
        if not jobs.claim(session, tenant, job_key):
            return "taken"
    try:
        with unit_of_work() as session:
            run_as_system(session, tenant)
            job = session.get(ExportJob, (tenant, job_key))
            asker, window = jobs.asker_scope(session, job), jobs.window_of(session, job)
            enter_scope(session, Why.export_as_asker, scope=asker)
            jobs.allow_long_statements(session, config["EXPORT_STATEMENT_TIMEOUT_MS"])
            total = jobs.count_rows(session, job, asker, window)
        with unit_of_work() as session:
            run_as_system(session, tenant)
            session.execute(update(ExportJob).where(ExportJob.tenant_id == tenant, ExportJob.id == job_key)
                            .values(rows_total=total))
        with unit_of_work() as session:
            enter_scope(session, Why.export_as_asker, scope=asker)
            jobs.allow_long_statements(session, config["EXPORT_STATEMENT_TIMEOUT_MS"])
            job = session.get(ExportJob, (tenant, job_key))
            written = jobs.write_file(session, job, asker, window, export_dir=config["EXPORT_DIR"],
                                      progress=_progress_reporter(tenant, job_key))
        with unit_of_work() as session:
            run_as_system(session, tenant)
            name, rows, size, digest = written
            jobs.finish(session, tenant, job_key, file_name=name, rows=rows, size=size, sha256=digest,
                        ttl=timedelta(hours=config["EXPORT_TTL_HOURS"]))
    except Exception as error:
        log.warning("export %s failed: %s", job_id, type(error).__name__)
        with unit_of_work() as session:
            run_as_system(session, tenant)
            jobs.fail(session, tenant, job_key, error)
        return "failed"
    return "done"


@celery_app.task(name="app.finance.tasks.sweep_exports")
def sweep_exports() -> int:
    """Run jobs whose publish was lost, fail stalled ones, delete files past their expiry (rows stay)."""
    with unit_of_work() as session:
        enter_scope(session, Why.sweep_tenants, scope=PLATFORM_SCOPE)
        from app.tenancy.models import Tenant  # noqa: PLC0415

        tenant_ids = list(session.scalars(select(Tenant.id)))
    handled = 0
    for tenant_id in tenant_ids:
        with unit_of_work() as session:
            run_as_system(session, tenant_id)
            now = utcnow()
            stale = list(session.scalars(select(ExportJob.id).where(
                ExportJob.tenant_id == tenant_id, ExportJob.status == ExportStatus.queued,
                ExportJob.created_at < now - STALE_QUEUED)))
            expired = session.execute(select(ExportJob.id, ExportJob.file_name).where(
                ExportJob.tenant_id == tenant_id, ExportJob.status == ExportStatus.done,
                ExportJob.file_name.is_not(None), ExportJob.expires_at < now)).all()
            # a worker that died mid-export leaves its job running: after the longest statement an
            # export may run, and no progress since, it is failed (ask again)
            longest = timedelta(milliseconds=current_app.config["EXPORT_STATEMENT_TIMEOUT_MS"])
            stalled = now - longest - STALLED
            session.execute(update(ExportJob).where(
                ExportJob.tenant_id == tenant_id, ExportJob.status == ExportStatus.running,
                ExportJob.updated_at < stalled).values(status=ExportStatus.failed, error="Stalled",
                                                       finished_at=now, updated_at=now))
            for job_id, file_name in expired:
                (Path(current_app.config["EXPORT_DIR"]) / file_name).unlink(missing_ok=True)
                session.execute(update(ExportJob)
                                .where(ExportJob.tenant_id == tenant_id, ExportJob.id == job_id)
                                .values(file_name=None, updated_at=now))
        for job_id in stale:
            run_export.run(str(tenant_id), str(job_id))
        handled += len(stale) + len(expired)
    return handled
