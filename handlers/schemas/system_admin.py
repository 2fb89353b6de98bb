"""Schemas of the administrators' history and task-table routes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.metrics_history import RANGES_S
from services.tasks.admin import ADMIN_STATUSES


class HistoryQuerySchema(Schema):
    range = fields.String(
        load_default="15m",
        validate=validate.OneOf(tuple(RANGES_S)),
        metadata={"description": "`15m` (last 15 minutes) or `1h` (last hour)."},
    )


class HistorySampleSchema(Schema):
    at = fields.String(required=True)
    lag_p99_ms = fields.Float(required=True)
    requests_per_s = fields.Float(required=True)
    connections = fields.Integer(required=True)
    tasks_queued = fields.Integer(required=True)
    tasks_running = fields.Integer(required=True)


class RestartSchema(Schema):
    at = fields.String(required=True)
    pid = fields.Integer(required=True)
    host = fields.String(required=True)


class HistorySchema(Schema):
    range = fields.String(required=True)
    range_s = fields.Integer(required=True)
    bucket_s = fields.Float(required=True)
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)
    samples = fields.List(
        fields.Nested(HistorySampleSchema),
        required=True,
        metadata={"description": "Buckets with data only: a missing bucket is a gap."},
    )
    restarts = fields.List(fields.Nested(RestartSchema), required=True)


class AdminTaskQuerySchema(Schema):
    status = fields.List(
        fields.String(validate=validate.OneOf(ADMIN_STATUSES)),
        load_default=lambda: list(ADMIN_STATUSES),
        validate=validate.Length(min=1, max=3),
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class AdminTaskSchema(Schema):
    task_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True)
    progress = fields.Integer(required=True)
    message = fields.String(required=True)
    step = fields.String(required=True)
    error = fields.Dict(allow_none=True)
    attempts = fields.Integer()
    cancel_requested = fields.Boolean()
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    user_id = fields.UUID(required=True)
    user_email = fields.String(required=True)


class AdminTaskPageSchema(Schema):
    items = fields.List(fields.Nested(AdminTaskSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
