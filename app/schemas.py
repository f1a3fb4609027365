"""Schema base: unknown fields are refused (422), never silently dropped."""

import marshmallow as ma


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True


class PageQuery(Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 1_000_000))
