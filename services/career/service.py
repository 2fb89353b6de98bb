"""Career recommendations: roles, learning paths, course search and course streams.

AI-backed answers go through the AI gateway (provider first when configured, the local
career engine otherwise or as the fallback); every role answer is stored with its source.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from db.group_insert import GroupInsert
from db.pool import Database
from db.queries import career as q
from services.ai.gateway import AIGateway
from services.career.catalog import Catalog, Role
from services.career.courses import profile_weekly_hours
from services.career.local_adapter import CareerLocalEngine
from services.career.prompts import (
    PATH_FEATURE,
    PATH_SYSTEM,
    PROMPT_VERSION,
    ROLES_FEATURE,
    ROLES_SYSTEM,
    ProviderPathSchema,
    ProviderRolesSchema,
)
from services.errors import NotFound, ValidationFailed

logger = logging.getLogger(__name__)

WEAK_MATCH = 40
_PROFILE_FIELDS = ("current_role", "experience_level", "skills", "goals", "weekly_hours")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # what orjson refuses (integers beyond 64 bits)
        return json.dumps(value, default=str)


def shaping_fields(raw: Any) -> dict[str, Any]:
    """The fields of a stored profile that shape recommendations (no e-mail)."""
    profile = raw if isinstance(raw, Mapping) else {}
    return {k: profile[k] for k in _PROFILE_FIELDS if profile.get(k) not in (None, "", [])}


class _RoleFacts(NamedTuple):
    skills: tuple[tuple[str, str], ...]  # (skill id, display name), most important first
    skill_names: tuple[str, ...]


class CareerService:
    """The career features; handlers call these methods, nothing else touches the engine."""

    def __init__(
        self,
        *,
        db: Database,
        gateway: AIGateway,
        local: CareerLocalEngine,
        catalog: Catalog,
        cache_ttl_s: int = 1800,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.local = local
        self.catalog = catalog
        self.extractor = local.extractor
        self.cache_ttl_s = cache_ttl_s
        self.clock = clock
        # Course lines computed by stream_courses (tests watch it stop on disconnect).
        self.stream_items_produced = 0
        # Concurrent answers share one INSERT (each still waits for its row to be stored).
        self.recommendations = GroupInsert(
            db,
            "recommendations",
            ("id", "user_id", "kind", "source", "inputs", "result"),
            "(%s, %s, %s, %s, %s::jsonb, %s::jsonb)",
        )
        self._facts_by_role: dict[str, _RoleFacts] = {}
        self._roles_schema = ProviderRolesSchema(catalog)  # stateless: one instance serves all
        roles = "\n".join(f"{r.id} | {r.title}" for r in catalog.roles)
        self._roles_system = f"{ROLES_SYSTEM}\n\nCatalog roles (role_id | title):\n{roles}"

    # -- profile ----------------------------------------------------------------------
    async def profile(self, user_id: str) -> dict[str, Any]:
        """The fields of the user's profile that shape recommendations (no e-mail)."""
        raw = await self.db.fetch_val(q.USER_PROFILE, {"user_id": user_id})
        return shaping_fields(raw)

    # -- role recommendations -------------------------------------------------------------
    async def recommend_roles(
        self,
        user_id: str,
        job_description: str,
        *,
        context: Mapping[str, Any] | None = None,
        limit: int = 5,
        stored_profile: Mapping[str, Any] | None = None,
        store: bool = True,
    ) -> dict[str, Any]:
        """Roles for a job description (API.md shape + ``source``, ``processed_at``, ``id``);
        the answer is stored in ``recommendations`` unless *store* is False (then it has no
        ``id``: the safe GET form changes nothing). *stored_profile*: the user's profile
        as the caller already holds it (the authenticated session's record), else read."""
        if stored_profile is not None:
            profile = shaping_fields(stored_profile)
        else:
            profile = await self.profile(user_id)
        inputs: dict[str, Any] = {"job_description": job_description, "limit": limit}
        if context:
            inputs["context"] = dict(context)
        result = await self.gateway.complete_json(
            ROLES_FEATURE,
            system=self._roles_system,
            user_data={**inputs, "profile": profile},
            schema=self._roles_schema,
            prompt_version=PROMPT_VERSION,
            user_id=user_id,
            cache_ttl_s=self.cache_ttl_s,
        )
        answer = self._complete_roles(result.data, limit, known=self._known(profile))
        answer["source"] = result.source
        answer["processed_at"] = self.clock()
        if not store:
            return answer
        answer["id"] = recommendation_id = str(uuid.uuid4())
        await self.recommendations.insert(
            (recommendation_id, user_id, "roles", result.source, _dump(inputs), _dump(answer))
        )
        return answer

    def _known(self, profile: Mapping[str, Any]) -> set[str]:
        skills = profile.get("skills") or []
        return set(self.extractor.normalize_many([s for s in skills if isinstance(s, str)]))

    def _role_facts(self, role: Role) -> _RoleFacts:
        """A role's required skills (ids and display names, most important first), worked
        out once per role: the catalog does not change while the process runs."""
        facts = self._facts_by_role.get(role.id)
        if facts is None:
            skills = tuple((s, self.catalog.skill_name(s)) for s in role.skill_ids)
            facts = _RoleFacts(skills, tuple(name for _, name in skills))
            self._facts_by_role[role.id] = facts
        return facts

    def _complete_roles(
        self, data: Mapping[str, Any], limit: int, *, known: set[str]
    ) -> dict[str, Any]:
        """Fill every field of the API shape from the catalog (provider answers are terse)."""
        recs: list[dict[str, Any]] = []
        for rec in list(data.get("recommendations") or [])[:limit]:
            role: Role | None = self.catalog.role(str(rec.get("role_id") or rec.get("title")))
            if role is None:
                continue
            facts = self._role_facts(role)
            score = max(0, min(100, round(float(rec.get("match_score") or 0))))
            recs.append(
                {
                    **rec,
                    "role_id": role.id,
                    "title": role.title,
                    "description": role.description,
                    "match_score": score,
                    "reasoning": str(rec.get("reasoning") or ""),
                    "required_skills": list(facts.skill_names),
                    "experience_level": role.experience_level,
                    "family": role.family,
                    "missing_skills": rec.get("missing_skills")
                    or [name for skill, name in facts.skills if skill not in known],
                }
            )
        confidences = list(data.get("confidence_scores") or [])[: len(recs)]
        if len(confidences) != len(recs):
            confidences = [r["match_score"] for r in recs]
        best = max((r["match_score"] for r in recs), default=0)
        reasoning = [str(x) for x in data.get("reasoning") or []]
        return {
            "recommendations": recs,
            "reasoning": reasoning,
            "confidence_scores": [int(c) for c in confidences],
            "skill_gaps": [str(x) for x in data.get("skill_gaps") or []],
            "alternative_suggestions": [str(x) for x in data.get("alternative_suggestions") or []],
            "weak_match": best < WEAK_MATCH,
        }

    # -- learning paths ---------------------------------------------------------------
    async def create_learning_path(
        self, user_id: str, target_role: str, timeline_weeks: int | None
    ) -> dict[str, Any]:
        """Plan and store a learning path toward ``target_role`` (id, slug or title).

        422 for an unknown role, and for a timeline too short (the message names the
        minimum number of weeks at the profile's weekly hours, 5 by default).
        """
        role = self.catalog.role(target_role)
        if role is None:
            raise ValidationFailed(
                f"No role in the catalog matches {target_role.strip()[:100]!r}.",
                errors={"target_role": ["Unknown role: give a catalog role id or title."]},
            )
        profile = await self.profile(user_id)
        weekly_hours = profile_weekly_hours(profile)
        user_data = {
            "target_role": {"role_id": role.id, "title": role.title},
            "timeline_weeks": timeline_weeks,
            "weekly_hours": weekly_hours,
            "profile": profile,
        }
        local_plan: dict[str, Any] | None = None
        if self.gateway.provider is not None:
            # Validates the timeline (422 naming the minimum) before any provider call.
            local_plan = await self.local.complete_json(PATH_FEATURE, user_data)
        weeks = timeline_weeks or (local_plan or {}).get("timeline_weeks") or 104
        result = await self.gateway.complete_json(
            PATH_FEATURE,
            system=PATH_SYSTEM,
            user_data=user_data,
            schema=ProviderPathSchema(self.catalog, int(weeks)),
            prompt_version=PROMPT_VERSION,
            user_id=user_id,
            cache_ttl_s=self.cache_ttl_s,
        )
        plan = result.data
        if result.source != "local":  # the provider's terse shape (or its cached copy)
            plan = self._complete_provider_path(plan, local_plan, role)
        row = await self.db.fetch_one(
            q.INSERT_LEARNING_PATH,
            {
                "user_id": user_id,
                "target_role": _dump(
                    {
                        "role_id": role.id,
                        "title": role.title,
                        "weekly_hours": plan.get("weekly_hours", weekly_hours),
                        "total_hours": plan.get("total_hours"),
                    }
                ),
                "timeline_weeks": int(plan.get("timeline_weeks") or weeks),
                "milestones": _dump(plan["milestones"]),
                "skill_gaps": _dump(plan.get("skill_gaps") or []),
                "source": result.source,
            },
        )
        if row is None:
            raise RuntimeError("INSERT … RETURNING gave no row")
        return self._path(row)

    def _complete_provider_path(
        self, plan: Mapping[str, Any], local_plan: Mapping[str, Any] | None, role: Role
    ) -> dict[str, Any]:
        milestones = []
        for ms in plan["milestones"]:
            courses = [self.catalog.course(cid) for cid in ms.get("course_ids", [])]
            milestones.append(
                {
                    "week": ms["week"],
                    "title": ms["title"],
                    "skills": list(ms.get("skills") or []),
                    "courses": [c.summary() for c in courses if c is not None],
                }
            )
        local = local_plan or {}
        return {
            "milestones": milestones,
            "skill_gaps": list(plan.get("skill_gaps") or local.get("skill_gaps") or []),
            "timeline_weeks": local.get("timeline_weeks"),
            "weekly_hours": local.get("weekly_hours"),
            "total_hours": sum(c["duration_hours"] for m in milestones for c in m["courses"]),
        }

    @staticmethod
    def _path(row: Mapping[str, Any]) -> dict[str, Any]:
        target = dict(row["target_role"])
        return {
            "id": row["id"],
            "target_role": target,
            "timeline_weeks": row["timeline_weeks"],
            "weekly_hours": target.get("weekly_hours"),
            "milestones": row["milestones"],
            "skill_gaps": row["skill_gaps"],
            "source": row["source"],
            "created_at": row["created_at"],
        }

    async def get_learning_path(self, user_id: str, path_id: str) -> dict[str, Any]:
        """One of the user's paths; NotFound for a malformed id or another user's path."""
        try:
            pid = uuid.UUID(path_id)
        except ValueError:
            raise NotFound("No such learning path.") from None
        row = await self.db.fetch_one(q.GET_LEARNING_PATH, {"id": pid, "user_id": user_id})
        if row is None:
            raise NotFound("No such learning path.")
        return self._path(row)

    async def learning_path_json(self, user_id: str, path_id: str) -> bytes:
        """One of the user's paths as a serialised JSON document (the same fields, values
        and key order as ``get_learning_path``); NotFound for a malformed id or another
        user's path. One query; the stored JSON is spliced in without being decoded.
        """
        try:
            pid = str(uuid.UUID(path_id))
        except ValueError:
            raise NotFound("No such learning path.") from None
        row = await self.db.fetch_prepared(
            q.GET_LEARNING_PATH_JSON, {"id": pid, "user_id": user_id}
        )
        if row is None:
            raise NotFound("No such learning path.")
        target, weeks, weekly_hours, milestones, skill_gaps, source, created_at = row
        return b"".join(
            (
                b'{"id":"',
                pid.encode(),
                b'","target_role":',
                target.encode(),
                b',"timeline_weeks":',
                str(int(weeks)).encode(),
                b',"weekly_hours":',
                weekly_hours.encode() if weekly_hours is not None else b"null",
                b',"milestones":',
                milestones.encode(),
                b',"skill_gaps":',
                skill_gaps.encode(),
                b',"source":',
                orjson.dumps(source),
                b',"created_at":',
                orjson.dumps(created_at),
                b"}",
            )
        )

    async def list_learning_paths(
        self, user_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> tuple[list[dict[str, Any]], tuple[datetime, str] | None]:
        """The user's paths newest first, and the keyset of the next page (or None)."""
        rows = await self.db.fetch_all(
            q.LIST_LEARNING_PATHS,
            {
                "user_id": user_id,
                "after_at": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit + 1,
            },
        )
        more = len(rows) > limit
        items = [self._path(r) for r in rows[:limit]]
        last = items[-1] if more and items else None
        return items, ((last["created_at"], str(last["id"])) if last else None)

    # -- course search -----------------------------------------------------------------
    async def search_courses(
        self,
        *,
        text: str | None,
        skills: Sequence[str],
        difficulty: str | None,
        limit: int,
        after: Sequence[Any] | None,
    ) -> tuple[list[dict[str, Any]], list[Any] | None]:
        """Catalog courses matching the full-text query and filters, and the next keyset.

        Skill filters accept names and synonyms; an unknown skill matches nothing.
        """
        skill_ids: list[str] = []
        for name in skills:
            sid = self.extractor.normalize_skill(name)
            if sid is None:
                return [], None
            skill_ids.append(sid)
        params: dict[str, Any] = {
            "skills": skill_ids or None,
            "difficulty": difficulty,
            "limit": limit + 1,
        }
        ranked = bool(text and text.strip())
        if ranked:
            params["q"] = text
            params["after_rank"] = float(after[0]) if after else None
            params["after_slug"] = str(after[1]) if after else None
            rows = await self.db.fetch_all(q.SEARCH_COURSES_RANKED, params)
        else:
            params["after_slug"] = str(after[0]) if after else None
            rows = await self.db.fetch_all(q.SEARCH_COURSES_PLAIN, params)
        more = len(rows) > limit
        rows = rows[:limit]
        nxt: list[Any] | None = None
        if more and rows:
            last = rows[-1]
            nxt = [last["rank"], last["slug"]] if ranked else [last["slug"]]
        for row in rows:
            row["relevance"] = round(row.pop("rank", 0.0) or 0.0, 4) if ranked else None
        return rows, nxt

    # -- streamed course recommendations --------------------------------------------------
    async def stream_courses(
        self, user_id: str, goals: Sequence[str], limit: int
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Course lines for the goals, each computed in the CPU pool and yielded at once.

        ``limit`` bounds the total; goals share it. Closing the iterator stops the work.
        """
        profile = await self.profile(user_id)
        share = max(1, math.ceil(limit / max(1, len(goals))))
        seen: set[str] = set()
        position = 0
        for goal in goals:
            lines = await self.local.run(self.local.engine.recommend_courses, goal, profile, share)
            try:
                while position < limit:
                    line = await self.local.run(next, lines, None)
                    if line is None:
                        break
                    self.stream_items_produced += 1
                    course_id = line["course_recommendation"]["course_id"]
                    if course_id in seen:
                        continue
                    seen.add(course_id)
                    position += 1
                    line["position_in_sequence"] = position
                    yield line
            finally:
                _close(lines)
            if position >= limit:
                return
            await asyncio.sleep(0)


def _close(lines: Iterator[Any]) -> None:
    """Close the engine's generator (a no-op while it is running in a pool thread)."""
    close = getattr(lines, "close", None)
    if close is not None:
        try:
            close()
        except ValueError:  # "generator already executing": it ends with its thread
            pass
