"""Request and response bodies of the export endpoints."""

import marshmallow as ma

from app.finance.exports.datasets import DATASETS
from app.finance.models import ExportFormat, ExportStatus
from app.schemas import Schema


class ExportRequestSchema(Schema):
    dataset = ma.fields.String(required=True, validate=ma.validate.OneOf(list(DATASETS)),
                               metadata={"example": "journal_lines"})
    format = ma.fields.Enum(ExportFormat, load_default=ExportFormat.csv)
    start = ma.fields.AwareDateTime(required=True, data_key="from",
                                    metadata={"description": "Start of the period (inclusive)"})
    end = ma.fields.AwareDateTime(required=True, data_key="to",
                                  metadata={"description": "End of the period (exclusive)"})
    org_id = ma.fields.UUID(load_default=None, metadata={"description": "Only this org's subtree"})


class DownloadQuery(Schema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(1, 500),
                             metadata={"description": "The signed token of the job's download_url"})


class ExportJobSchema(Schema):
    id = ma.fields.UUID()
    dataset = ma.fields.String()
    format = ma.fields.Enum(ExportFormat)
    status = ma.fields.Enum(ExportStatus)
    start = ma.fields.DateTime(attribute="period_from", data_key="from")
    end = ma.fields.DateTime(attribute="period_to", data_key="to")
    org_id = ma.fields.UUID(attribute="filter_org_id", allow_none=True)
    rows_total = ma.fields.Integer(metadata={"description": "Rows counted when the job started"})
    rows_done = ma.fields.Integer(metadata={"description": "Rows written so far"})
    size_bytes = ma.fields.Integer(allow_none=True)
    sha256 = ma.fields.String(allow_none=True, metadata={"description": "Checksum of the file"})
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    error = ma.fields.String(allow_none=True)
    download_url = ma.fields.String(allow_none=True, metadata={
        "description": "A link for the asker only, valid for EXPORT_LINK_SECONDS "
                       "(fetch the job again for a fresh one)"})


class ColumnSchema(Schema):
    name = ma.fields.String()
    doc = ma.fields.String()
    money = ma.fields.Boolean()
    personal = ma.fields.String(allow_none=True)


class DatasetSchema(Schema):
    name = ma.fields.String()
    doc = ma.fields.String()
    columns = ma.fields.List(ma.fields.Nested(ColumnSchema))
