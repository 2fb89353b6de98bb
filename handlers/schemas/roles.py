"""Schemas of the catalog role search (suggestions while typing a target role)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")


class RoleQuerySchema(Schema):
    q = fields.String(
        load_default="",
        validate=[validate.Length(max=200), _no_nul],
        metadata={"description": "Part of a role title, e.g. `data eng`; empty lists roles A–Z."},
    )
    limit = fields.Integer(load_default=8, validate=validate.Range(min=1, max=50))


class RoleSuggestionSchema(Schema):
    role_id = fields.String(required=True)
    title = fields.String(required=True)
    family = fields.String(required=True)
    experience_level = fields.String(required=True)


class RolePageSchema(Schema):
    items = fields.List(fields.Nested(RoleSuggestionSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
