"""The AI gateway's local engine for the career features (the ``LocalEngine`` protocol).

Every answer is computed by the deterministic career engine in the CPU pool, so ranking
never blocks the event loop. Features: ``role_recommendations``, ``learning_path`` and
``coach_chat`` (a grounded, plain-sentences answer streamed sentence by sentence).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from services.career.catalog import Catalog, Role
from services.career.prompts import CHAT_FEATURE, PATH_FEATURE, ROLES_FEATURE
from services.career.taxonomy import SkillExtractor

T = TypeVar("T")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class CareerEngine(Protocol):
    """What the adapter needs of services/career/engine.py ``LocalCareerEngine``."""

    def recommend_roles(
        self, job_description: str, profile: Mapping[str, Any], limit: int
    ) -> dict[str, Any]: ...

    def learning_path(
        self,
        target_role: str,
        profile: Mapping[str, Any],
        timeline_weeks: int | None,
        weekly_hours: float,
    ) -> dict[str, Any]: ...

    def recommend_courses(
        self, goal: str, profile: Mapping[str, Any], limit: int
    ) -> Iterator[dict[str, Any]]: ...

    def person_match(self, profile: Mapping[str, Any] | None, role: Role) -> dict[str, Any]: ...

    def nearest_roles(self, text: str, limit: int = 3) -> list[dict[str, str]]: ...

    def recognise(self, text: str) -> list[dict[str, str]]: ...


class CareerLocalEngine:
    """``LocalEngine`` for the career features, running the engine in ``cpu_pool``."""

    def __init__(
        self,
        engine: CareerEngine,
        catalog: Catalog,
        extractor: SkillExtractor,
        cpu_pool: Executor,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.extractor = extractor
        self.cpu_pool = cpu_pool

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the CPU pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.cpu_pool, functools.partial(fn, *args))

    async def complete_json(self, feature: str, user_data: dict[str, Any]) -> dict[str, Any]:
        """The engine's answer for ``feature`` (role recommendations or a learning path)."""
        profile = user_data.get("profile") or {}
        if feature == ROLES_FEATURE:
            text = _with_context(user_data["job_description"], user_data.get("context"))
            return await self.run(
                self.engine.recommend_roles, text, profile, int(user_data["limit"])
            )
        if feature == PATH_FEATURE:
            return await self.run(
                self.engine.learning_path,
                user_data["target_role"]["role_id"],
                profile,
                user_data.get("timeline_weeks"),
                float(user_data["weekly_hours"]),
            )
        raise ValueError(f"the local career engine has no feature {feature!r}")

    async def stream_text(self, feature: str, user_data: dict[str, Any]) -> AsyncIterator[str]:
        """A grounded coach answer, one sentence per delta."""
        if feature != CHAT_FEATURE:
            raise ValueError(f"the local career engine cannot stream {feature!r}")
        message = str(user_data.get("message") or "")
        profile = user_data.get("profile") or {}
        answer = await self.run(self.coach_answer, message, profile)
        sentences = [s for s in _SENTENCE.split(answer) if s]
        for i, sentence in enumerate(sentences):
            yield sentence if i == len(sentences) - 1 else sentence + " "
            await asyncio.sleep(0)  # let the consumer forward each sentence as it comes

    def coach_answer(self, message: str, profile: Mapping[str, Any]) -> str:
        """Plain sentences answering ``message`` from the profile and the catalog (sync)."""
        skills = [s for s in profile.get("skills") or [] if isinstance(s, str)]
        known = set(self.extractor.normalize_many(skills))
        goals = [g for g in profile.get("goals") or [] if isinstance(g, str)]
        current = profile.get("current_role") or ""
        query = " ".join([message, current, *goals]).strip()
        parts: list[str] = []
        if current or skills:
            listed = ", ".join(self.catalog.skill_name(s) for s in sorted(known)[:5])
            parts.append(
                "You told us you work as "
                + (current or "a professional")
                + (f" with skills such as {listed}." if listed else ".")
            )
        answer = self.engine.recommend_roles(query or "career growth", profile, 3)
        recs = answer.get("recommendations") or []
        top = self.catalog.role(str(recs[0].get("role_id", ""))) if recs else None
        score = int(recs[0].get("match_score", 0)) if recs else 0
        if top is None or score < 15:
            parts.append(
                "I could not match your question to a specific role in our catalog, so tell "
                "me more about the work you enjoy or the role you are aiming for."
            )
            return " ".join(parts)
        parts.append(f"The catalog role closest to what you describe is {top.title} ({score}%).")
        gaps = [s for s in top.skill_ids if s not in known]
        if not gaps:
            parts.append(f"Your skills already cover what a {top.title} needs.")
            return " ".join(parts)
        names = [self.catalog.skill_name(s) for s in gaps[:3]]
        parts.append("The skills to build next are " + _join(names) + ".")
        courses = self.catalog.courses_for_skill(gaps[0])
        if courses:
            c = courses[0]
            parts.append(
                f"A good first step is {c.title} from {c.provider}, about "
                f"{c.duration_hours:g} hours at {c.difficulty} level."
            )
        if len(recs) > 1:
            others = [str(r.get("title")) for r in recs[1:3] if r.get("title")]
            if others:
                parts.append("Roles worth comparing are " + _join(others) + ".")
        return " ".join(parts)


def _with_context(text: str, context: Any) -> str:
    if isinstance(context, Mapping):
        extra = " ".join(str(v) for v in context.values() if isinstance(v, str | int | float))
        return f"{text}\n{extra}" if extra else text
    if isinstance(context, str) and context:
        return f"{text}\n{context}"
    return text


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
