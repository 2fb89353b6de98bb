"""Schemas of the career routes: role recommendations, learning paths, courses, streams."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

MAX_DESCRIPTION = 20_000
DIFFICULTIES = ("beginner", "intermediate", "advanced")


def _description(required: bool) -> fields.String:
    return fields.String(
        required=required,
        validate=[validate.Length(min=1, max=MAX_DESCRIPTION), _no_nul],
        metadata={"description": f"The job description, up to {MAX_DESCRIPTION:,} characters."},
    )


def _no_nul(value: str) -> None:
    """PostgreSQL text cannot hold NUL characters: refuse them up front (422, not 500)."""
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")


def _small_context(value: dict[str, Any]) -> None:
    text = json.dumps(value, default=str)
    if len(text) > 5000:
        raise ValidationError("Must be at most 5,000 characters as JSON.")
    if "\\u0000" in text:
        raise ValidationError("Must not contain NUL characters.")


_ROLE_LIMIT: dict[str, Any] = {"load_default": 5, "validate": validate.Range(min=1, max=25)}
_PAGE_LIMIT: dict[str, Any] = {"load_default": 20, "validate": validate.Range(min=1, max=100)}


class RolesBodySchema(Schema):
    job_description = _description(True)
    context = fields.Dict(
        keys=fields.String(validate=validate.Length(max=100)),
        values=fields.Raw(),
        load_default=None,
        validate=[validate.Length(max=20), _small_context],
    )
    limit = fields.Integer(**_ROLE_LIMIT)


class RolesQuerySchema(Schema):
    description = _description(True)
    limit = fields.Integer(**_ROLE_LIMIT)


def _fit() -> fields.String:
    return fields.String(
        metadata={
            "enum": ["strong", "partial", "weak"],
            "description": "strong: score >= 70; partial: 50-69; weak: below 50 "
            "(nothing in the catalog fits well; docs/recommendations.md)",
        }
    )


class RecognisedSkillSchema(Schema):
    skill_id = fields.String(required=True)
    name = fields.String(required=True)
    matched_text = fields.String(
        required=True, metadata={"description": "the words of the text that triggered it"}
    )


class RoleRecommendationSchema(Schema):
    role_id = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    match_score = fields.Integer(required=True)
    reasoning = fields.String(required=True)
    required_skills = fields.List(fields.String(), required=True)
    experience_level = fields.String(required=True)
    family = fields.String()
    matched_skills = fields.List(fields.String())
    missing_skills = fields.List(fields.String())
    fit = _fit()


class RolesAnswerSchema(Schema):
    id = fields.UUID()
    recommendations = fields.List(fields.Nested(RoleRecommendationSchema), required=True)
    reasoning = fields.List(fields.String(), required=True)
    confidence_scores = fields.List(fields.Integer(), required=True)
    skill_gaps = fields.List(fields.String(), required=True)
    alternative_suggestions = fields.List(fields.String(), required=True)
    weak_match = fields.Boolean()
    fit = _fit()
    recognised_skills = fields.List(fields.Nested(RecognisedSkillSchema))
    source = fields.String(required=True, metadata={"enum": ["ai", "cache", "local"]})
    processed_at = fields.DateTime(required=True)


class LearningPathBodySchema(Schema):
    target_role = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=200), _no_nul],
        metadata={"description": "A catalog role id, slug or title."},
    )
    timeline_weeks = fields.Integer(load_default=None, validate=validate.Range(min=1, max=104))


class CourseSummarySchema(Schema):
    course_id = fields.String(required=True)
    title = fields.String(required=True)
    provider = fields.String(required=True)
    duration_hours = fields.Float(required=True)
    difficulty = fields.String(required=True)


class MilestoneSchema(Schema):
    week = fields.Integer(required=True)
    title = fields.String(required=True)
    skills = fields.List(fields.String(), required=True)
    courses = fields.List(fields.Nested(CourseSummarySchema), required=True)


class LearningPathSchema(Schema):
    id = fields.UUID(required=True)
    target_role = fields.Dict(
        required=True,
        metadata={
            "description": "{role_id, title, weekly_hours, total_hours, match_score, fit}: "
            "match_score and fit are the person's fit for the role, the same number the "
            "career report and the coach show (docs/recommendations.md)"
        },
    )
    timeline_weeks = fields.Integer(required=True)
    weekly_hours = fields.Float(allow_none=True)
    milestones = fields.List(fields.Nested(MilestoneSchema), required=True)
    skill_gaps = fields.List(fields.String(), required=True)
    source = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class PageQuerySchema(Schema):
    limit = fields.Integer(**_PAGE_LIMIT)
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


class LearningPathPageSchema(Schema):
    items = fields.List(fields.Nested(LearningPathSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class CourseQuerySchema(Schema):
    q = fields.String(load_default=None, validate=[validate.Length(max=200), _no_nul])
    skill = fields.List(
        fields.String(validate=[validate.Length(min=1, max=100), _no_nul]),
        load_default=list,
        validate=validate.Length(max=10),
    )
    difficulty = fields.String(load_default=None, validate=validate.OneOf(DIFFICULTIES))
    limit = fields.Integer(**_PAGE_LIMIT)
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


class CourseSchema(Schema):
    id = fields.String(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    provider = fields.String(required=True)
    url = fields.String(required=True)
    duration_hours = fields.Float(required=True)
    difficulty = fields.String(required=True)
    skills_taught = fields.List(fields.String(), required=True)
    prerequisites = fields.List(fields.String(), required=True)
    relevance = fields.Float(allow_none=True)


class CoursePageSchema(Schema):
    items = fields.List(fields.Nested(CourseSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class CourseStreamQuerySchema(Schema):
    goals = fields.List(
        fields.String(validate=[validate.Length(min=1, max=200), _no_nul]),
        required=True,
        validate=validate.Length(min=1, max=10),
    )
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
