"""The career features as task steps: the CareerService when the app has one, else the
LocalCareerEngine directly (CPU work in the thread pool, never on the event loop)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from db.pool import Database
from db.queries.career import USER_PROFILE
from services.career.engine import LocalCareerEngine
from services.career.service import CareerService
from services.clock import now_iso
from services.errors import NotFound
from services.tasks.engine_pool import EnginePool

T = TypeVar("T")
log = logging.getLogger(__name__)
_PROFILE_FIELDS = ("current_role", "experience_level", "skills", "goals", "weekly_hours")


class CareerSteps:
    """Implements services.tasks.kinds.CareerPort."""

    def __init__(
        self,
        *,
        db: Database,
        engine: LocalCareerEngine,
        service: CareerService | None = None,
        cpu_pool: Executor | None = None,
        engine_pool: EnginePool | None = None,
    ) -> None:
        self._db = db
        self._engine = engine
        self._service = service
        self._cpu_pool = cpu_pool
        self._engine_pool = engine_pool

    async def _cpu(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._cpu_pool, functools.partial(fn, *args))

    async def _profile(self, user_id: str) -> dict[str, Any]:
        if self._service is not None:
            return await self._service.profile(user_id)
        raw = await self._db.fetch_val(USER_PROFILE, {"user_id": user_id})
        profile = raw if isinstance(raw, dict) else {}
        return {k: profile[k] for k in _PROFILE_FIELDS if profile.get(k) not in (None, "", [])}

    async def profile_analysis(self, user_id: str) -> dict[str, Any]:
        """The profile fields that matter, its skills recognised in the catalog, a summary."""
        profile = await self._profile(user_id)
        skill_ids = self._engine.profile_skills(profile)
        catalog = self._engine.catalog
        skills = [{"skill_id": s, "name": catalog.skill_name(s)} for s in skill_ids]
        level = profile.get("experience_level") or "unknown"
        role = profile.get("current_role") or "no current role given"
        summary = (
            f"{len(skills)} recognised skill{'s' if len(skills) != 1 else ''}; "
            f"experience level {level}; {role}."
        )
        return {"profile": profile, "skills": skills, "experience_level": level, "summary": summary}

    async def recommend_roles(
        self,
        description: str,
        *,
        limit: int,
        profile: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        bulk: bool = False,
    ) -> dict[str, Any]:
        """A role-recommendation answer.

        Through the career service (AI gateway, stored answer) when there is one; but bulk
        work with no AI provider goes straight to the local engine in the process pool,
        so hundreds of items never hold the server's GIL.
        """
        service = self._service
        has_provider = service is not None and service.gateway.provider is not None
        if service is not None and user_id is not None and (has_provider or not bulk):
            return await service.recommend_roles(user_id, description, limit=limit)
        answer = None
        if bulk and self._engine_pool is not None:
            try:
                answer = await self._engine_pool.recommend_roles(description, profile, limit)
            except BrokenProcessPool:  # a pool process died: the thread pool still works
                log.error("the engine process pool is broken; using threads")
        if answer is None:
            answer = await self._cpu(
                self._engine.recommend_roles, description, profile or {}, limit
            )
        answer["source"] = "local"
        answer["processed_at"] = now_iso()
        return answer

    async def skill_gaps(self, profile: Mapping[str, Any], target_role: str) -> dict[str, Any]:
        """Required skills of the role the profile does not show, most important first."""
        role = self._engine.catalog.role(target_role)
        if role is None:
            raise NotFound(f"No role matches {target_role.strip()[:100]!r}.")
        known = set(self._engine.profile_skills(profile))
        catalog = self._engine.catalog
        ordered = sorted(role.required_skills, key=lambda r: -r.level)
        missing = [
            {"skill_id": r.skill, "name": catalog.skill_name(r.skill), "level": r.level}
            for r in ordered
            if r.skill not in known
        ]
        have = [catalog.skill_name(r.skill) for r in ordered if r.skill in known]
        return {
            "role_id": role.id,
            "title": role.title,
            "missing": missing,
            "covered": have,
            "coverage_percent": round(100 * len(have) / max(1, len(ordered))),
        }

    async def learning_path(
        self, profile: Mapping[str, Any], target_role: str, *, user_id: str | None = None
    ) -> dict[str, Any]:
        """A learning path toward the role (stored for the user when the service exists)."""
        if self._service is not None and user_id is not None:
            return await self._service.create_learning_path(user_id, target_role, None)
        weekly = self._engine.weekly_hours(profile)
        path = await self._cpu(self._engine.learning_path, target_role, profile, None, weekly)
        path.setdefault("source", "local")
        return path
