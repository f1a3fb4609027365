"""Export jobs: asked for in a request, run by a task as the asking scope, downloaded by that scope only."""

import os
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.db import after_commit, utcnow
from app.errors import NotFound
from app.finance.errors import ExportExpired, ExportNotReady, InvalidPeriod
from app.finance.exports import writers
from app.finance.exports.datasets import DATASETS, Window
from app.finance.models import ExportFormat, ExportJob, ExportStatus
from app.paging import CursorKey, Page, paginate
from app.platform.audit import audit
from app.tenancy.filters import get_visible, scoped
from app.tenancy.models import Org, Tenant
from app.tenancy.permissions import Action, require
from app.tenancy.resolve import staff_scope
from app.tenancy.scope import Scope

MAX_PERIOD = timedelta(days=3660)


# --- in the request ------------------------------------------------------------------------------

def request_export(session: Session, scope: Scope, *, dataset: str, format: ExportFormat,
                   start: datetime, end: datetime, org_id: uuid.UUID | None = None) -> ExportJob:
    """A queued job for `dataset` over [start, end), optionally one visible org's subtree."""
    require(scope, Action.export)
    if dataset not in DATASETS:
        raise NotFound("No export dataset with that name.")
    if not start < end or end - start > MAX_PERIOD:
        raise InvalidPeriod("The period needs from < to, at most ten years apart.")
    if org_id is not None:
        get_visible(session, Org, scope, org_id)
    job = ExportJob(tenant_id=scope.tenant_id, owner_path=scope.org_path,
                    dataset=dataset, format=format, period_from=start, period_to=end,
                    filter_org_id=org_id, org_id=scope.org_id, requested_by_kind=scope.actor_kind,
                    requested_by_id=scope.actor_id, role=scope.role, status=ExportStatus.queued,
                    rows_total=0, rows_done=0)
    session.add(job)
    session.flush()
    tenant_id, job_id = str(job.tenant_id), str(job.id)
    after_commit(session, lambda: _enqueue(tenant_id, job_id))
    return job


def _enqueue(tenant_id: str, job_id: str) -> None:
    from app.finance.tasks import run_export  # noqa: PLC0415  (tasks import this module)
    from app.platform.broker import publish  # noqa: PLC0415

    publish(run_export, tenant_id, job_id, what="export")


def my_job(session: Session, scope: Scope, job_id: uuid.UUID) -> ExportJob:
    """A job the caller asked for (same actor, same org); any other answers 404."""
    require(scope, Action.export)
    job = get_visible(session, ExportJob, scope, job_id)
    if job.requested_by_id != scope.actor_id or job.org_id != scope.org_id:
        raise NotFound("No export job with that id.")
    return job


def my_jobs(session: Session, scope: Scope, *, limit: int,
            cursor: CursorKey | None = None) -> Page[ExportJob]:
    """The caller's own jobs, newest first, a page at a time."""
    require(scope, Action.export)
    mine = scoped(ExportJob, scope).where(ExportJob.requested_by_id == scope.actor_id,
                                          ExportJob.org_id == scope.org_id)
    return paginate(session, mine, ExportJob, limit=limit, cursor=cursor)


def file_to_download(session: Session, scope: Scope, job_id: uuid.UUID, *,
                     export_dir: str) -> tuple[ExportJob, Path]:
    """The finished file of my job, audited as downloaded (the link was checked by the caller)."""
    job = my_job(session, scope, job_id)
    if job.status is not ExportStatus.done:
        raise ExportNotReady(f"The export is {job.status.value}.")
    path = Path(export_dir) / job.file_name
    if job.expires_at is None or job.expires_at <= utcnow() or not path.is_file():
        raise ExportExpired("The export file has expired; ask for a new export.")
    audit(session, scope, "export.downloaded", owner_path=job.owner_path, subject_id=job.id,
          subject_type="export", dataset=job.dataset, format=job.format.value, rows=job.rows_done,
          sha256=job.sha256)
    return job, path


# --- in the task ---------------------------------------------------------------------------------

def claim(session: Session, tenant_id: uuid.UUID, job_id: uuid.UUID) -> bool:
    """queued → running, once: a redelivered or swept task finds it taken and does nothing."""
    claimed = session.execute(
        update(ExportJob)
        .where(ExportJob.tenant_id == tenant_id, ExportJob.id == job_id,
               ExportJob.status == ExportStatus.queued)
        .values(status=ExportStatus.running, updated_at=utcnow())
        .returning(ExportJob.id)).first()
    return claimed is not None


def asker_scope(session: Session, job: ExportJob) -> Scope:
    """The scope that asked, rebuilt with its org's current path and grants."""
    tenant = session.get(Tenant, job.tenant_id)
    org = session.get(Org, (job.tenant_id, job.org_id))
    return staff_scope(session, tenant=tenant, org=org, role=job.role,
                       actor_kind=job.requested_by_kind, actor_id=job.requested_by_id)


def window_of(session: Session, job: ExportJob) -> Window:
    org_path = None
    if job.filter_org_id is not None:
        org_path = session.get(Org, (job.tenant_id, job.filter_org_id)).path
    return Window(job.period_from, job.period_to, org_path)


def allow_long_statements(session: Session, timeout_ms: int) -> None:
    """This transaction's statement timeout for a task (the request's limit is for requests)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))


def count_rows(session: Session, job: ExportJob, scope: Scope, window: Window) -> int:
    statement = DATASETS[job.dataset].build(scope, window).order_by(None).subquery()
    return int(session.scalar(select(func.count()).select_from(statement)))


def write_file(session: Session, job: ExportJob, scope: Scope, window: Window, *, export_dir: str,
               progress: Callable[[int], None]) -> tuple[str, int, int, str]:
    """Write the file as `scope` (this session's settings); returns (file name, rows, size, sha256)."""
    dataset = DATASETS[job.dataset]
    statement = dataset.build(scope, window)
    folder = Path(export_dir) / str(job.tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{job.tenant_id}/{job.id}.{job.format.value}"
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".partial-")
    try:
        if job.format is ExportFormat.xlsx:
            os.close(handle)
            rows = writers.write_xlsx(session, dataset, scope, statement, temporary, progress)
            size, digest = writers.hash_file(temporary)
        else:
            with os.fdopen(handle, "wb") as file:
                sink = writers.Sink(file)
                if session.get_bind().dialect.name == "postgresql" and not dataset.personal:
                    rows = writers.write_csv_copy(session, dataset, statement, sink, progress)
                else:
                    rows = writers.write_csv_rows(session, dataset, scope, statement, sink, progress)
            size, digest = sink.size, sink.hash.hexdigest()
        os.replace(temporary, folder / f"{job.id}.{job.format.value}")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return name, rows, size, digest


def finish(session: Session, tenant_id: uuid.UUID, job_id: uuid.UUID, *, file_name: str, rows: int,
           size: int, sha256: str, ttl: timedelta) -> None:
    now = utcnow()
    session.execute(update(ExportJob).where(ExportJob.tenant_id == tenant_id, ExportJob.id == job_id)
                    .values(status=ExportStatus.done, file_name=file_name, rows_done=rows, rows_total=rows,
                            size_bytes=size, sha256=sha256, finished_at=now, expires_at=now + ttl,
                            updated_at=now))


def fail(session: Session, tenant_id: uuid.UUID, job_id: uuid.UUID, error: BaseException) -> None:
    """Failed, with the error's class only (a message may quote data the log must not carry)."""
    session.execute(update(ExportJob).where(ExportJob.tenant_id == tenant_id, ExportJob.id == job_id)
                    .values(status=ExportStatus.failed, error=type(error).__name__[:500],
                            finished_at=utcnow(), updated_at=utcnow()))
