"""Finance export endpoints: ask for an export, watch its progress, download it through a signed link."""

import base64
import uuid

import marshmallow as ma
from flask import current_app, send_file, url_for

from app.auth.request import staff_only
from app.blueprint import Blueprint, TransactionalView
from app.extensions import db
from app.finance.exports import jobs, links
from app.finance.exports.datasets import DATASETS, Column, human_name
from app.finance.exports.schemas import (
    DatasetSchema,
    DownloadQuery,
    ExportJobSchema,
    ExportRequestSchema,
)
from app.finance.models import ExportFormat, ExportJob, ExportStatus
from app.paging import PageQuery, page_of

blp = Blueprint("finance_exports", __name__, url_prefix="/finance/exports",
                description="Finance exports: CSV or XLSX files of a period, for the scope that asked")

MEDIA_TYPES = {ExportFormat.csv: "text/csv",
               ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FILE_RESPONSE = {"description": "The file (CSV or XLSX); its sha256 is in the Repr-Digest header",
                 "content": {media: {"schema": {"type": "string", "format": "binary"}}
                             for media in MEDIA_TYPES.values()}}


def _presented(job: ExportJob) -> dict:
    """The job for its asker, with a freshly signed download link when the file is ready."""
    url = None
    if job.status is ExportStatus.done and job.file_name:
        token = links.sign_link(current_app.config["SECRET_KEY"], job_id=job.id, actor_id=job.requested_by_id)
        url = url_for("finance_exports.ExportFile", job_id=job.id, token=token)
    return {**{c.key: getattr(job, c.key) for c in ExportJob.__table__.columns}, "download_url": url}


def _documented(columns: tuple[Column, ...]) -> list[dict]:
    documented = []
    for column in columns:
        documented.append({"name": column.name, "doc": column.doc, "money": column.money,
                           "personal": column.personal})
        if column.money:
            documented.append({"name": human_name(column), "money": False, "personal": None,
                               "doc": f"{column.doc}, as a decimal in the currency"})
    return documented


@blp.route("/datasets")
class Datasets(TransactionalView):
    @blp.response(200, DatasetSchema(many=True))
    @blp.errors(401, 403)
    def get(self):
        """The exportable datasets and their columns, in file order."""
        staff_only()
        return [{"name": d.name, "doc": d.doc, "columns": _documented(d.columns)} for d in DATASETS.values()]


@blp.route("")
class Exports(TransactionalView):
    @blp.arguments(ExportRequestSchema)
    @blp.response(202, ExportJobSchema)
    @blp.errors(401, 403, 404, 422)
    def post(self, body):
        """Ask for an export of a dataset over a period; a task writes the file (eager in the demo)."""
        return _presented(jobs.request_export(db.session, staff_only(), **body))

    @blp.arguments(PageQuery, location="query", unknown=ma.RAISE)
    @blp.response(200, page_of(ExportJobSchema))
    @blp.errors(401, 403, 422)
    def get(self, query):
        """My export jobs, newest first, a page at a time."""
        return jobs.my_jobs(db.session, staff_only(), **query).map(_presented)


@blp.route("/<uuid:job_id>")
class Export(TransactionalView):
    @blp.response(200, ExportJobSchema)
    @blp.errors(401, 403, 404)
    def get(self, job_id: uuid.UUID):
        """One of my export jobs: status, rows done of the total, checksum and download link."""
        return _presented(jobs.my_job(db.session, staff_only(), job_id))


@blp.route("/<uuid:job_id>/file")
class ExportFile(TransactionalView):
    @blp.arguments(DownloadQuery, location="query", unknown=ma.RAISE)
    @blp.doc(responses={"200": FILE_RESPONSE})
    @blp.errors(401, 403, 404, 409, 410, 422)
    def get(self, query, job_id: uuid.UUID):
        """Download my export's file through its signed, expiring link (audited)."""
        scope = staff_only()
        job = jobs.my_job(db.session, scope, job_id)
        links.check_link(current_app.config["SECRET_KEY"], query["token"], job_id=job.id,
                         actor_id=scope.actor_id, max_age=current_app.config["EXPORT_LINK_SECONDS"])
        job, path = jobs.file_to_download(db.session, scope, job_id,
                                          export_dir=current_app.config["EXPORT_DIR"])
        response = send_file(path, mimetype=MEDIA_TYPES[job.format], as_attachment=True,
                             download_name=f"{job.dataset}-{job.period_from:%Y%m%d}-{job.period_to:%Y%m%d}"
                                           f".{job.format.value}", max_age=0)
        response.headers["Repr-Digest"] = f"sha-256=:{_base64(job.sha256)}:"
        response.headers["X-Checksum-SHA256"] = job.sha256
        return response


def _base64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()
