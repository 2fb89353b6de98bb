"""Schemas of the account lifecycle routes (password change, sessions, deletion)."""

from __future__ import annotations

from marshmallow import Schema, fields

from handlers.schemas.password_field import Password


class PasswordChangeSchema(Schema):
    current_password = Password()
    new_password = Password()


class AccountDeleteSchema(Schema):
    password = Password()


class SessionSchema(Schema):
    id = fields.UUID(required=True, metadata={"description": "Session id (not a token)"})
    created_at = fields.DateTime(required=True)
    last_seen_at = fields.DateTime(required=True)
    user_agent = fields.String(required=True)
    current = fields.Boolean(required=True, metadata={"description": "The session asking"})


class SessionListSchema(Schema):
    items = fields.List(fields.Nested(SessionSchema), required=True)
