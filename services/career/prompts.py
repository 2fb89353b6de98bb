"""Provider prompts and the schemas that validate the provider's (untrusted) JSON answers.

The system prompts are fixed text; user text travels only in the gateway's ``<data>``
section. Answers must reference catalog roles and courses: unknown ones are dropped, and
an answer with nothing valid left fails validation (the gateway then uses the local engine).
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from services.career.catalog import Catalog

ROLES_FEATURE = "role_recommendations"
PATH_FEATURE = "learning_path"
CHAT_FEATURE = "coach_chat"
PROMPT_VERSION = "1"

ROLES_SYSTEM = """You are FluentPro's career advisor. From a job description (and the user's
profile, when given) recommend the best matching roles from the catalog listed in the data
under "catalog_roles" — use only those role ids and titles. For each role give a match_score
from 0 to 100 and one or two sentences of reasoning. Also list the skill gaps (skills the
description asks for that the profile lacks) and alternative role titles worth considering.
Shape: {"recommendations": [{"role_id", "title", "match_score", "reasoning"}],
"reasoning": [str], "skill_gaps": [str], "alternative_suggestions": [str]}."""

PATH_SYSTEM = """You are FluentPro's learning planner. Build a week-by-week learning path to
the target role in the data, within timeline_weeks, fitting weekly_hours of study, using
only courses listed under "catalog_courses" (by course_id) and respecting prerequisites.
Shape: {"milestones": [{"week": int, "title": str, "skills": [str], "course_ids": [str]}],
"skill_gaps": [str]}."""

_TEXT = validate.Length(max=2000)
_SHORT = validate.Length(max=200)


class _ProviderRoleSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role_id = fields.String(load_default="", validate=_SHORT)
    title = fields.String(load_default="", validate=_SHORT)
    match_score = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    reasoning = fields.String(load_default="", validate=_TEXT)


class ProviderRolesSchema(Schema):
    """The provider's role-recommendation answer, checked against the catalog."""

    class Meta:
        unknown = EXCLUDE

    recommendations = fields.List(
        fields.Nested(_ProviderRoleSchema), required=True, validate=validate.Length(max=50)
    )
    reasoning = fields.List(fields.String(validate=_TEXT), load_default=list)
    skill_gaps = fields.List(fields.String(validate=_SHORT), load_default=list)
    alternative_suggestions = fields.List(fields.String(validate=_SHORT), load_default=list)

    def __init__(self, catalog: Catalog, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.catalog = catalog

    @post_load
    def _known_roles_only(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        kept: list[dict[str, Any]] = []
        seen: set[str] = set()
        for rec in data["recommendations"]:
            role = self.catalog.role(rec["role_id"]) if rec["role_id"] else None
            role = role or (self.catalog.role(rec["title"]) if rec["title"] else None)
            if role is None or role.id in seen:
                continue  # not a catalog role (or a repeat): dropped
            seen.add(role.id)
            kept.append({**rec, "role_id": role.id, "title": role.title})
        if not kept:
            raise ValidationError("no recommendation names a catalog role", "recommendations")
        data["recommendations"] = kept
        return data


class _ProviderMilestoneSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    week = fields.Integer(required=True, validate=validate.Range(min=1, max=104))
    title = fields.String(required=True, validate=_SHORT)
    skills = fields.List(fields.String(validate=_SHORT), load_default=list)
    course_ids = fields.List(fields.String(validate=_SHORT), load_default=list)


class ProviderPathSchema(Schema):
    """The provider's learning path, checked against the catalog and the timeline."""

    class Meta:
        unknown = EXCLUDE

    milestones = fields.List(
        fields.Nested(_ProviderMilestoneSchema),
        required=True,
        validate=validate.Length(min=1, max=104),
    )
    skill_gaps = fields.List(fields.String(validate=_SHORT), load_default=list)

    def __init__(self, catalog: Catalog, timeline_weeks: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.catalog = catalog
        self.timeline_weeks = timeline_weeks

    @post_load
    def _known_courses_only(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        milestones = []
        for ms in data["milestones"]:
            if ms["week"] > self.timeline_weeks:
                raise ValidationError("a milestone falls after the timeline", "milestones")
            ids = [c.id for c in map(self.catalog.course, ms["course_ids"]) if c is not None]
            if ids:
                milestones.append({**ms, "course_ids": ids})
        if not milestones:
            raise ValidationError("no milestone names a catalog course", "milestones")
        data["milestones"] = sorted(milestones, key=lambda m: m["week"])
        return data


def catalog_roles_digest(catalog: Catalog) -> list[dict[str, str]]:
    """The short role list the provider must choose from."""
    return [{"role_id": r.id, "title": r.title, "family": r.family} for r in catalog.roles]
