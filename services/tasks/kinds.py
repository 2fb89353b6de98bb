"""Task kinds, their parameter schemas, and the small interfaces the tasks depend on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from services.errors import ValidationFailed

CAREER_REPORT = "career_report"
BATCH_ROLE_MATCH = "batch_role_match"
KINDS = (CAREER_REPORT, BATCH_ROLE_MATCH)

MAX_DESCRIPTIONS = 500
MAX_DESCRIPTION_CHARS = 20_000

# Task statuses; the last three are final.
QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
FINAL_STATUSES = (SUCCEEDED, FAILED, CANCELLED)
# The final event name for each final status (API.md "Server-Sent Events").
FINAL_EVENT = {SUCCEEDED: "complete", FAILED: "failed", CANCELLED: "cancelled"}


class CareerReportParams(Schema):
    target_role = fields.String(validate=validate.Length(min=1, max=200))


class BatchRoleMatchParams(Schema):
    job_descriptions = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_DESCRIPTION_CHARS)),
        required=True,
        validate=validate.Length(min=1, max=MAX_DESCRIPTIONS),
    )
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=25), strict=True)


PARAM_SCHEMAS: dict[str, type[Schema]] = {
    CAREER_REPORT: CareerReportParams,
    BATCH_ROLE_MATCH: BatchRoleMatchParams,
}


def validate_params(kind: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The validated parameters of a kind; 422 with messages under ``params.<field>``."""
    schema_cls = PARAM_SCHEMAS.get(kind)
    if schema_cls is None:
        raise ValidationFailed(
            "Unknown task kind.", errors={"kind": [f"Must be one of: {', '.join(KINDS)}."]}
        )
    if not isinstance(params, Mapping):
        raise ValidationFailed("Invalid params.", errors={"params": ["Must be an object."]})
    try:
        return dict(schema_cls(unknown=RAISE).load(dict(params)))
    except ValidationError as exc:
        raise ValidationFailed(
            "Some params are invalid.", errors={"params": exc.messages}
        ) from None


class EventPublisher(Protocol):
    """What tasks need from the event bus (services.events.EventBus satisfies it)."""

    async def publish(self, channel: str, event: str, data: Any) -> str: ...


class CareerPort(Protocol):
    """The career features the task kinds are made of (services.tasks.career.CareerSteps)."""

    async def profile_analysis(self, user_id: str) -> dict[str, Any]: ...

    async def recommend_roles(
        self,
        description: str,
        *,
        limit: int,
        profile: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        bulk: bool = False,
    ) -> dict[str, Any]: ...

    async def skill_gaps(self, profile: Mapping[str, Any], target_role: str) -> dict[str, Any]: ...

    async def learning_path(
        self, profile: Mapping[str, Any], target_role: str, *, user_id: str | None = None
    ) -> dict[str, Any]: ...
