"""Schemas of the learning-activity routes: interactions, adaptive list, onboarding."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

INTERACTION_TYPES = ("view", "start", "complete", "skip", "rate", "quiz_result", "search")
# type → (min, max) of ``value``; other types accept a non-negative number (minutes spent).
VALUE_RANGES: dict[str, tuple[float, float]] = {"rate": (1, 5), "quiz_result": (0, 100)}
OTHER_VALUE_RANGE = (0.0, 1_000_000.0)
VALUE_REQUIRED = frozenset({"rate", "quiz_result"})
COURSE_REQUIRED = frozenset({"start", "complete", "skip", "rate"})


class InteractionBodySchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(INTERACTION_TYPES))
    course_id = fields.UUID(allow_none=True, load_default=None)
    value = fields.Float(allow_none=True, load_default=None, allow_nan=False)
    payload = fields.Dict(keys=fields.String(), allow_none=True, load_default=None)

    @validates_schema
    def _per_type(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("type")
        if kind is None:
            return
        errors: dict[str, list[str]] = {}
        value = data.get("value")
        if kind in VALUE_REQUIRED and value is None:
            errors["value"] = [f"Required for '{kind}'."]
        elif value is not None:
            lo, hi = VALUE_RANGES.get(kind, OTHER_VALUE_RANGE)
            if not lo <= value <= hi:
                errors["value"] = [f"Must be between {lo:g} and {hi:g} for '{kind}'."]
        if kind in COURSE_REQUIRED and data.get("course_id") is None:
            errors["course_id"] = [f"Required for '{kind}'."]
        if errors:
            raise ValidationError(errors)


class InteractionAcceptedSchema(Schema):
    id = fields.UUID(required=True)
    created_at = fields.DateTime()


class ListQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


class AdaptiveRecommendationSchema(Schema):
    id = fields.UUID()
    recommendation_type = fields.String(
        metadata={"description": "easier_prerequisite | next_level | review_material | goal_nudge"}
    )
    content = fields.Dict()
    trigger_reason = fields.String()
    urgency_level = fields.String(metadata={"description": "low | medium | high"})
    expected_impact = fields.String()
    metadata = fields.Dict(
        metadata={"description": "{interaction_id, analysis_confidence, timestamp}"}
    )
    created_at = fields.DateTime()


class AdaptiveListSchema(Schema):
    items = fields.List(fields.Nested(AdaptiveRecommendationSchema))
    next_cursor = fields.String(allow_none=True)


class OnboardingStepSchema(Schema):
    key = fields.String()
    title = fields.String()
    done = fields.Boolean()


class ProgressAnalysisSchema(Schema):
    steps = fields.List(fields.Nested(OnboardingStepSchema))
    percent = fields.Integer()


class CompletionPredictionSchema(Schema):
    estimated_completion_date = fields.DateTime()
    probability = fields.Float()


class NextBestActionSchema(Schema):
    key = fields.String()
    title = fields.String()
    reason = fields.String()


class OnboardingProgressSchema(Schema):
    progress_analysis = fields.Nested(ProgressAnalysisSchema)
    completion_prediction = fields.Nested(CompletionPredictionSchema)
    next_best_action = fields.Nested(NextBestActionSchema)
    engagement_level = fields.String(metadata={"description": "low | medium | high"})
    engagement_judged = fields.Boolean(
        metadata={
            "description": "False while the account is under a week old with fewer than 3 "
            "interactions: too early for a verdict, so clients should not show the level."
        }
    )
