"""Onboarding progress from real data, and the change notifications that drive its stream.

Whoever changes something onboarding looks at (profile, goals, career recommendations,
learning paths, interactions) calls ``notify_onboarding_changed(user_id)``; it publishes
``changed`` on ``user:<id>:onboarding`` and every open progress stream of that user, on
any process, computes a fresh analysis (at most one per configured interval).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from db.pool import Database
from db.queries import onboarding as q
from services.adaptive import EventPublisher
from services.analysis_queue import AnalysisQueue
from services.clock import now_iso
from services.errors import NotFound
from services.events.channels import onboarding_channel

log = logging.getLogger(__name__)

CHANGED_EVENT = "changed"

# (key, title, why it matters) in the order a new user is guided through them.
STEPS: tuple[tuple[str, str, str], ...] = (
    (
        "profile_completed",
        "Complete your profile",
        "Your current role, experience level and skills let every recommendation fit you.",
    ),
    (
        "goals_set",
        "Set your learning goals",
        "Goals decide which courses and roles are worth your time.",
    ),
    (
        "roles_viewed",
        "Explore recommended roles",
        "Seeing matching roles and their skill gaps shows where to grow next.",
    ),
    (
        "learning_path_created",
        "Create a learning path",
        "A path turns a target role into weekly milestones.",
    ),
    (
        "first_course_started",
        "Start your first course",
        "Starting is the step most learners put off; one lesson is enough.",
    ),
    (
        "first_course_completed",
        "Complete your first course",
        "Finishing a course is the strongest sign that a plan will hold.",
    ),
)
DEFAULT_PACE_STEPS_PER_DAY = 0.5  # before the user has done anything to measure
ENGAGEMENT_BONUS = {"low": -0.1, "medium": 0.05, "high": 0.15}


MAX_REMEMBERED_STEPS = 100_000


def engagement_level(recent_count: int, active_days: int) -> str:
    """low / medium / high from interactions in the last 7 days and active days in 14."""
    if recent_count >= 15 or active_days >= 5:
        return "high"
    if recent_count >= 3 or active_days >= 2:
        return "medium"
    return "low"


# A new account has no history to judge: calling it "low engagement" on day one is wrong
# and discouraging. The verdict waits for a week of account age or a few interactions.
JUDGE_AFTER_DAYS = 7
JUDGE_AFTER_INTERACTIONS = 3


def engagement_judged(age_days: float, recent_count: int) -> bool:
    """True once there is engagement to judge (old enough, or active enough)."""
    return age_days >= JUDGE_AFTER_DAYS or recent_count >= JUDGE_AFTER_INTERACTIONS


def _profile_complete(profile: dict[str, Any]) -> bool:
    return bool(
        str(profile.get("current_role") or "").strip()
        and profile.get("experience_level")
        and profile.get("skills")
    )


class OnboardingNotices(Protocol):
    """What a service that changes onboarding inputs calls (OnboardingService does it)."""

    async def notify_step_done(self, user_id: str, step: str) -> None: ...

    async def notify_onboarding_changed(self, user_id: str) -> bool: ...


class OnboardingService:
    """Computes the onboarding analysis and announces changes to it."""

    def __init__(
        self, db: Database, bus: EventPublisher, analysis: AnalysisQueue | None = None
    ) -> None:
        self._db = db
        self._bus = bus
        self._analysis = analysis
        self._announced_steps: set[tuple[str, str]] = set()

    async def notify_step_done(self, user_id: str, step: str) -> None:
        """Announce that *step* (one that, once done, stays done) may just have completed.

        Only the first time this process sees it for the user: later occurrences cannot
        change the progress (the step is already done), so they cost no publish."""
        key = (str(user_id), step)
        if key in self._announced_steps:
            return
        if len(self._announced_steps) >= MAX_REMEMBERED_STEPS:
            self._announced_steps.clear()  # forgetting only costs a redundant notice
        if await self.notify_onboarding_changed(user_id):
            self._announced_steps.add(key)

    async def notify_onboarding_changed(self, user_id: str) -> bool:
        """Announce that the user's onboarding inputs changed (best effort, never raises);
        False when the notice could not be published."""
        data = {"user_id": str(user_id), "at": now_iso()}
        try:
            await self._bus.publish(onboarding_channel(str(user_id)), CHANGED_EVENT, data)
        except Exception:  # Redis down or slow: the change itself is already stored
            log.warning("could not announce an onboarding change for %s", user_id, exc_info=True)
            return False
        return True

    async def progress(self, user_id: str) -> dict[str, Any]:
        """The API.md onboarding object for the user; also queues a goal-progress check."""
        row = await self._db.fetch_one(q.ONBOARDING_STATE, {"user_id": user_id})
        if row is None:
            raise NotFound("No such user.")
        if self._analysis is not None:
            self._analysis.submit(str(user_id))  # the goal nudge is checked off this path
        profile = row["profile"] or {}
        done_at: dict[str, datetime | None] = {
            "roles_viewed": row["first_recommendation"],
            "learning_path_created": row["first_path"],
            "first_course_started": row["first_start"],
            "first_course_completed": row["first_complete"],
        }
        flags = {
            "profile_completed": _profile_complete(profile),
            "goals_set": bool(profile.get("goals")),
            **{key: when is not None for key, when in done_at.items()},
        }
        steps = [{"key": k, "title": t, "done": flags[k]} for k, t, _ in STEPS]
        done = sum(1 for s in steps if s["done"])
        percent = round(100 * done / len(steps))
        engagement = engagement_level(int(row["recent_count"]), int(row["active_days"]))
        age_days = (row["now"] - row["created_at"]).total_seconds() / 86400
        judged = engagement_judged(age_days, int(row["recent_count"]))
        return {
            "progress_analysis": {"steps": steps, "percent": percent},
            "completion_prediction": self._prediction(
                row["now"], row["created_at"], done, done_at, engagement if judged else None
            ),
            "next_best_action": self._next_action(flags),
            # Kept for clients that read it; `engagement_judged` says whether it means much.
            "engagement_level": engagement,
            "engagement_judged": judged,
        }

    @staticmethod
    def _prediction(
        now: datetime,
        created_at: datetime,
        done: int,
        done_at: dict[str, datetime | None],
        engagement: str | None,
    ) -> dict[str, Any]:
        """*engagement* is None while there is none to judge (no bonus, no penalty)."""
        total = len(STEPS)
        if done == total:
            finished = max((t for t in done_at.values() if t is not None), default=now)
            return {
                "estimated_completion_date": finished.astimezone(UTC).isoformat(),
                "probability": 1.0,
            }
        elapsed_days = max((now - created_at).total_seconds() / 86400, 1.0)
        pace = done / elapsed_days if done else DEFAULT_PACE_STEPS_PER_DAY
        if engagement == "low":
            pace = min(pace, DEFAULT_PACE_STEPS_PER_DAY)
        remaining_days = min((total - done) / max(pace, 0.01), 365.0)
        bonus = ENGAGEMENT_BONUS[engagement] if engagement else 0.0
        probability = 0.2 + 0.6 * done / total + bonus
        # A long silence since sign-up with little done lowers the odds.
        if elapsed_days > 30 and done < total / 2:
            probability -= 0.1
        return {
            "estimated_completion_date": (now + timedelta(days=remaining_days))
            .astimezone(UTC)
            .isoformat(),
            "probability": round(min(max(probability, 0.05), 0.99), 2),
        }

    @staticmethod
    def _next_action(flags: dict[str, bool]) -> dict[str, str]:
        for key, title, reason in STEPS:
            if not flags[key]:
                return {"key": key, "title": title, "reason": reason}
        return {
            "key": "keep_learning",
            "title": "Keep learning",
            "reason": "Onboarding is complete; your adaptive recommendations suggest what next.",
        }
