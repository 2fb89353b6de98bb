"""The AI gateway's local engine for the career features (the ``LocalEngine`` protocol).

Every answer is computed by the deterministic career engine in the CPU pool, so ranking
never blocks the event loop. Features: ``role_recommendations``, ``learning_path`` and
``coach_chat`` (the built-in coach, services/career/coach.py, streamed a few words at a time).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar, cast

from services.career.catalog import Catalog, Role
from services.career.coach import Coach
from services.career.prompts import CHAT_FEATURE, PATH_FEATURE, ROLES_FEATURE
from services.career.taxonomy import SkillExtractor

T = TypeVar("T")
WORDS_PER_DELTA = 6


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

    def person_ranking(
        self, profile: Mapping[str, Any] | None, hint: str = ""
    ) -> list[dict[str, Any]]: ...


class CareerLocalEngine:
    """``LocalEngine`` for the career features, running the engine in ``cpu_pool``."""

    def __init__(
        self,
        engine: CareerEngine,
        catalog: Catalog,
        extractor: SkillExtractor,
        cpu_pool: Executor,
        *,
        pace_s: float = 0.01,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.extractor = extractor
        self.cpu_pool = cpu_pool
        self.pace_s = pace_s
        self.coach = Coach(catalog, extractor, engine)

    async def coach_facts(
        self,
        message: str,
        profile: Mapping[str, Any],
        path: Mapping[str, Any] | None,
        done_courses: list[str],
    ) -> dict[str, Any]:
        """The facts a coach answer to ``message`` rests on (computed in the CPU pool)."""
        return await self.run(self.coach.facts, message, profile, path, done_courses)

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
        """The built-in coach's answer, a few words per delta, as the AI path streams.

        ``user_data["facts"]`` (worked out by the career service, the same the provider
        is given) decides what it says; without them they are worked out here.
        """
        if feature != CHAT_FEATURE:
            raise ValueError(f"the local career engine cannot stream {feature!r}")
        facts = user_data.get("facts")
        if not isinstance(facts, Mapping):
            message = str(user_data.get("message") or "")
            facts = await self.run(self.coach.facts, message, user_data.get("profile") or {})
        sentences = self.coach.render(cast(Mapping[str, Any], facts))
        pieces = [p for i, s in enumerate(sentences) for p in _pieces(s, i > 0)]
        for piece in pieces:
            yield piece
            # a short pause per piece: the reader sees the answer arrive as it would from a
            # provider, and each piece goes out in its own frame
            await asyncio.sleep(self.pace_s)


def _pieces(sentence: str, spaced: bool, words: int = WORDS_PER_DELTA) -> list[str]:
    """A sentence cut every ``words`` words; a leading space when it follows another."""
    tokens = sentence.split(" ")
    cut = [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
    return [(" " if spaced or i else "") + piece for i, piece in enumerate(cut)]


def _with_context(text: str, context: Any) -> str:
    if isinstance(context, Mapping):
        extra = " ".join(str(v) for v in context.values() if isinstance(v, str | int | float))
        return f"{text}\n{extra}" if extra else text
    if isinstance(context, str) and context:
        return f"{text}\n{context}"
    return text
