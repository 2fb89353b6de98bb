"""Request and response schemas of the task routes (OpenAPI and validation)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.tasks.kinds import KINDS


class TaskCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    params = fields.Dict(keys=fields.String(), load_default=dict)


class TaskAcceptedSchema(Schema):
    task_id = fields.UUID(required=True)
    status = fields.String(required=True)
    status_url = fields.String(required=True)
    events_url = fields.String(required=True)


class TaskSchema(Schema):
    task_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(("queued", "running", "succeeded", "failed", "cancelled")),
    )
    progress = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    message = fields.String(required=True)
    step = fields.String(required=True)
    attempts = fields.Integer()
    cancel_requested = fields.Boolean()
    result = fields.Dict()
    error = fields.Dict()
    created_at = fields.DateTime(required=True)
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class TaskListQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
