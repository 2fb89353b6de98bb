"""Schemas of the account routes (register, login, me) and the password routes."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate

from handlers.schemas.password_field import Password

EXPERIENCE_LEVELS = ("entry", "mid", "senior", "lead")


def _timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError("Not a known IANA time zone, e.g. 'Europe/Berlin'.") from None


class RegisterBodySchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = Password()
    display_name = fields.String(load_default="", validate=validate.Length(max=100))


class LoginBodySchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = Password()


class AccountProfileSchema(Schema):
    current_role = fields.String(allow_none=True, validate=validate.Length(max=200))
    experience_level = fields.String(allow_none=True, validate=validate.OneOf(EXPERIENCE_LEVELS))
    skills = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=100)
    )
    goals = fields.List(
        fields.String(validate=validate.Length(min=1, max=300)), validate=validate.Length(max=20)
    )
    timezone = fields.String(allow_none=True, validate=[validate.Length(max=64), _timezone])
    weekly_hours = fields.Float(allow_none=True, validate=validate.Range(min=0, max=168))


class MePatchSchema(Schema):
    display_name = fields.String(validate=validate.Length(min=1, max=100))
    profile = fields.Nested(AccountProfileSchema)


class AccountUserSchema(Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ["user", "admin"]})
    profile = fields.Nested(AccountProfileSchema, required=True)
    created_at = fields.DateTime(required=True)


class AuthAnswerSchema(Schema):
    user = fields.Nested(AccountUserSchema, required=True)
    token = fields.String(required=True, metadata={"description": "Bearer token"})
    expires_at = fields.DateTime(required=True)


class AnalyzeBodySchema(Schema):
    password = fields.String(required=True)
    context = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))


class GenerateBodySchema(Schema):
    length = fields.Integer(strict=True, metadata={"minimum": 4, "maximum": 128})
    style = fields.String(validate=validate.OneOf(("random", "passphrase", "pin")))
    words = fields.Integer(strict=True, validate=validate.Range(min=3, max=12))
    context = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))


class CrackTimeSchema(Schema):
    online_throttled = fields.String()
    offline_slow_hash = fields.String()
    offline_fast_hash = fields.String()


class AnalysisSchema(Schema):
    security_score = fields.Integer(metadata={"minimum": 0, "maximum": 100})
    strength = fields.String(
        metadata={"enum": ["very_weak", "weak", "fair", "strong", "very_strong"]}
    )
    entropy_bits = fields.Float()
    crack_time = fields.Nested(CrackTimeSchema)
    vulnerabilities = fields.List(fields.String())
    recommendations = fields.List(fields.String())
    breached = fields.Boolean()


class GeneratedSchema(Schema):
    password = fields.String()
    style = fields.String()
    entropy_bits = fields.Float()
    memorability_score = fields.Integer(metadata={"minimum": 0, "maximum": 100})
    security_analysis = fields.Nested(AnalysisSchema)
    alternatives = fields.List(fields.String())
