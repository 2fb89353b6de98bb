"""The adaptive engine: reads a user's recent interactions and recommends what helps next.

Rules (each one idempotent through ``trigger_key``, unique per user in the table):

- ``easier_prerequisite``: repeated skips of advanced courses → an easier course teaching
  their prerequisites (key: the recommended course, so a longer burst adds nothing).
- ``next_level``: a course completed within its nominal hours with a high quiz result →
  the next difficulty on the same skills (key: the completed course).
- ``review_material``: the latest quiz result of a course is low → easier material on the
  same skills, else the course itself (key: course and ISO week).
- ``goal_nudge``: goals set but no progress (start, complete, quiz) for a configured time
  → a nudge toward a course matching the first goal (key: the stalled-since time).

New recommendations are stored and published on ``user:<id>:recommendations`` as
``adaptive_recommendation``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any, Protocol

from db.pool import Database
from db.queries import activity as q
from services.clock import now_iso
from services.events.channels import recommendations_channel

log = logging.getLogger(__name__)

DIFFICULTIES = ("beginner", "intermediate", "advanced")
PROGRESS_TYPES = frozenset({"start", "complete", "quiz_result"})
EVENT_NAME = "adaptive_recommendation"


class AdaptiveSettings(Protocol):
    """The thresholds the engine reads (the ``activity`` section of the config has them)."""

    @property
    def window_days(self) -> int: ...

    @property
    def recent_limit(self) -> int: ...

    @property
    def skip_threshold(self) -> int: ...

    @property
    def low_quiz_score(self) -> float: ...

    @property
    def high_quiz_score(self) -> float: ...

    @property
    def fast_completion_factor(self) -> float: ...

    @property
    def nudge_after_s(self) -> int: ...


class EventPublisher(Protocol):
    """What the engine needs of the event bus."""

    async def publish(self, channel: str, event: str, data: Any) -> str: ...


@dataclass
class Proposal:
    """A recommendation a rule wants to make."""

    trigger_key: str
    recommendation_type: str
    content: dict[str, Any]
    trigger_reason: str
    urgency_level: str
    expected_impact: str
    interaction_id: str | None
    confidence: float
    extra: dict[str, Any] = field(default_factory=dict)


def course_summary(row: dict[str, Any]) -> dict[str, Any]:
    """The course as a recommendation carries it."""
    return {
        "course_id": str(row["id"]),
        "title": row["title"],
        "provider": row["provider"],
        "url": row["url"],
        "duration_hours": float(row["duration_hours"]),
        "difficulty": row["difficulty"],
        "skills_taught": list(row["skills_taught"]),
    }


def public(row: dict[str, Any]) -> dict[str, Any]:
    """An adaptive recommendation row as the API shows it."""
    return {
        "id": str(row["id"]),
        "recommendation_type": row["recommendation_type"],
        "content": row["content"],
        "trigger_reason": row["trigger_reason"],
        "urgency_level": row["urgency_level"],
        "expected_impact": row["expected_impact"],
        "metadata": row["metadata"],
        "created_at": row["created_at"].isoformat(),
    }


class AdaptiveEngine:
    """Analyses one user's recent activity; stores and publishes new recommendations."""

    def __init__(self, db: Database, bus: EventPublisher, settings: AdaptiveSettings) -> None:
        self._db = db
        self._bus = bus
        self._cfg = settings

    async def analyse(self, user_id: str) -> list[dict[str, Any]]:
        """Run every rule on the user's recent history; returns the recommendations created."""
        rows = await self._db.fetch_all(
            q.RECENT_INTERACTIONS,
            {"user_id": user_id, "days": self._cfg.window_days, "limit": self._cfg.recent_limit},
        )
        ids = sorted({str(r["course_id"]) for r in rows if r["course_id"] is not None})
        courses: dict[str, dict[str, Any]] = {}
        if ids:
            for c in await self._db.fetch_all(q.COURSES_BY_IDS, {"ids": ids}):
                courses[str(c["id"])] = c
        proposals: list[Proposal] = []
        for rule in (self._skips, self._fast_mastery, self._low_quiz):
            proposals.extend(await rule(rows, courses))
        nudge = await self._goal_nudge(user_id, rows)
        if nudge is not None:
            proposals.append(nudge)
        created = []
        for proposal in proposals:
            row = await self._store(user_id, proposal)
            if row is not None:
                created.append(row)
                await self._bus.publish(recommendations_channel(user_id), EVENT_NAME, row)
        return created

    async def _store(self, user_id: str, p: Proposal) -> dict[str, Any] | None:
        metadata = {
            "interaction_id": p.interaction_id,
            "analysis_confidence": round(p.confidence, 2),
            "timestamp": now_iso(),
            **p.extra,
        }
        row = await self._db.fetch_one(
            q.INSERT_ADAPTIVE,
            {
                "user_id": user_id,
                "recommendation_type": p.recommendation_type,
                "content": json.dumps(p.content),
                "trigger_reason": p.trigger_reason,
                "trigger_key": p.trigger_key,
                "urgency_level": p.urgency_level,
                "expected_impact": p.expected_impact,
                "metadata": json.dumps(metadata),
            },
        )
        return public(row) if row is not None else None

    @staticmethod
    def _excluded(rows: list[dict[str, Any]]) -> list[str]:
        """Courses the user already started, completed or skipped (never re-recommended)."""
        return sorted(
            {
                str(r["course_id"])
                for r in rows
                if r["course_id"] is not None and r["type"] in ("start", "complete", "skip")
            }
        )

    async def _skips(
        self, rows: list[dict[str, Any]], courses: dict[str, dict[str, Any]]
    ) -> list[Proposal]:
        skips = [
            r
            for r in rows
            if r["type"] == "skip"
            and courses.get(str(r["course_id"]), {}).get("difficulty") == "advanced"
        ]
        if len(skips) < self._cfg.skip_threshold:
            return []
        skipped = [courses[str(r["course_id"])] for r in skips]
        prerequisites = sorted({s for c in skipped for s in c["prerequisites"]})
        skills = sorted(set(prerequisites) | {s for c in skipped for s in c["skills_taught"]})
        easier = await self._db.fetch_one(
            q.EASIER_COURSE,
            {"skills": skills, "prerequisites": prerequisites, "exclude": self._excluded(rows)},
        )
        if easier is None:
            return []
        titles = sorted({c["title"] for c in skipped})
        return [
            Proposal(
                trigger_key=f"easier_prerequisite:{easier['id']}",
                recommendation_type="easier_prerequisite",
                content={
                    "course": course_summary(easier),
                    "skipped_courses": [str(c["id"]) for c in skipped],
                    "message": (
                        f"Build a foundation with '{easier['title']}' before returning to "
                        "the advanced material."
                    ),
                },
                trigger_reason=(
                    f"{len(skips)} advanced courses skipped recently: " + ", ".join(titles[:5])
                ),
                urgency_level="high" if len(skips) >= 2 * self._cfg.skip_threshold else "medium",
                expected_impact="Covers the prerequisites so advanced courses become doable.",
                interaction_id=str(skips[0]["id"]),
                confidence=min(0.95, 0.5 + 0.1 * len(skips)),
            )
        ]

    async def _fast_mastery(
        self, rows: list[dict[str, Any]], courses: dict[str, dict[str, Any]]
    ) -> list[Proposal]:
        proposals: list[Proposal] = []
        seen: set[str] = set()
        for done in (r for r in rows if r["type"] == "complete" and r["course_id"] is not None):
            cid = str(done["course_id"])
            course = courses.get(cid)
            if cid in seen or course is None or course["difficulty"] == "advanced":
                continue
            seen.add(cid)
            starts = [
                r["created_at"] for r in rows if r["type"] == "start" and str(r["course_id"]) == cid
            ]
            if starts:
                minutes: float | None = (done["created_at"] - min(starts)).total_seconds() / 60
            else:
                minutes = done["value"]  # minutes spent, when the client reports it
            quizzes = [
                r["value"]
                for r in rows
                if r["type"] == "quiz_result"
                and str(r["course_id"]) == cid
                and r["value"] is not None
            ]
            budget = float(course["duration_hours"]) * 60 * self._cfg.fast_completion_factor
            if minutes is None or minutes > budget or not quizzes:
                continue
            best = max(quizzes)
            if best < self._cfg.high_quiz_score:
                continue
            level = DIFFICULTIES[DIFFICULTIES.index(course["difficulty"]) + 1]
            nxt = await self._db.fetch_one(
                q.NEXT_LEVEL_COURSE,
                {
                    "difficulty": level,
                    "skills": list(course["skills_taught"]),
                    "exclude": self._excluded(rows),
                },
            )
            if nxt is None:
                continue
            proposals.append(
                Proposal(
                    trigger_key=f"next_level:{cid}",
                    recommendation_type="next_level",
                    content={
                        "course": course_summary(nxt),
                        "completed_course": cid,
                        "message": f"You mastered '{course['title']}'; try '{nxt['title']}'.",
                    },
                    trigger_reason=(
                        f"Completed '{course['title']}' in {minutes:.0f} min "
                        f"(nominal {budget:.0f}) with a quiz score of {best:.0f}"
                    ),
                    urgency_level="low",
                    expected_impact="Keeps the challenge matched to a fast learner's pace.",
                    interaction_id=str(done["id"]),
                    confidence=min(0.95, 0.6 + (best - self._cfg.high_quiz_score) / 50),
                )
            )
        return proposals

    async def _low_quiz(
        self, rows: list[dict[str, Any]], courses: dict[str, dict[str, Any]]
    ) -> list[Proposal]:
        latest: dict[str | None, dict[str, Any]] = {}
        for r in rows:  # newest first: the first quiz seen per course is the latest
            if r["type"] == "quiz_result" and r["value"] is not None:
                latest.setdefault(str(r["course_id"]) if r["course_id"] else None, r)
        proposals: list[Proposal] = []
        for cid, quiz in latest.items():
            score, low = float(quiz["value"]), self._cfg.low_quiz_score
            if score >= low:
                continue
            year, week, _ = quiz["created_at"].isocalendar()
            course = courses.get(cid) if cid else None
            content: dict[str, Any] = {"score": score}
            if course is not None:
                rank = DIFFICULTIES.index(course["difficulty"])
                review = await self._db.fetch_one(
                    q.REVIEW_COURSE,
                    {
                        "skills": list(course["skills_taught"]),
                        "difficulties": list(DIFFICULTIES[: rank + 1]),
                        "difficulty": course["difficulty"],
                        "course_id": cid,
                    },
                )
                content["course"] = course_summary(review or course)
                content["reviewed_course"] = cid
                content["skills"] = list(course["skills_taught"])
                content["message"] = (
                    f"Review the key ideas of '{course['title']}' and retake the quiz."
                )
                subject = f"'{course['title']}'"
            else:
                content["message"] = "Revisit the material of your last quiz and retake it."
                subject = "a quiz"
            proposals.append(
                Proposal(
                    trigger_key=f"review_material:{cid or 'general'}:{year}-W{week:02d}",
                    recommendation_type="review_material",
                    content=content,
                    trigger_reason=f"Scored {score:.0f} on {subject} (below {low:.0f})",
                    urgency_level="high" if score < self._cfg.low_quiz_score / 2 else "medium",
                    expected_impact="Closes the gaps before they compound in later material.",
                    interaction_id=str(quiz["id"]),
                    confidence=min(0.95, 0.6 + (self._cfg.low_quiz_score - score) / 100),
                )
            )
        return proposals

    async def _goal_nudge(self, user_id: str, rows: list[dict[str, Any]]) -> Proposal | None:
        state = await self._db.fetch_one(q.GOAL_STATE, {"user_id": user_id})
        if state is None:
            return None
        goals = [g for g in (state["goals"] or []) if isinstance(g, str) and g.strip()]
        if not goals:
            return None
        since = state["last_progress"] or state["created_at"]
        idle = state["now"] - since
        nudge_after = self._cfg.nudge_after_s
        if idle < timedelta(seconds=nudge_after):
            return None
        course = await self._db.fetch_one(q.COURSE_FOR_GOAL, {"goal": goals[0][:300]})
        content: dict[str, Any] = {
            "goals": goals,
            "idle_days": round(idle.total_seconds() / 86400, 1),
            "message": f"Your goal '{goals[0]}' has not moved for a while; take a small step.",
        }
        if course is not None:
            content["course"] = course_summary(course)
        return Proposal(
            trigger_key=f"goal_nudge:{since.astimezone(UTC).isoformat()}",
            recommendation_type="goal_nudge",
            content=content,
            trigger_reason=f"No progress on your goals for {idle.days} days",
            urgency_level="high" if idle.total_seconds() > 3 * nudge_after else "medium",
            expected_impact="Restarting within days keeps a goal alive; weeks of pause rarely do.",
            interaction_id=str(rows[0]["id"]) if rows else None,
            confidence=0.7,
            extra={"stalled_since": since.astimezone(UTC).isoformat()},
        )
