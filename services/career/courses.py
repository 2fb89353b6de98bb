"""Course search and streamed, sequenced course recommendations for a learning goal."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from services.career.bm25 import IndexedBM25
from services.career.catalog import DIFFICULTIES, Catalog, Course, Role
from services.career.planner import format_hours, order_courses
from services.career.taxonomy import SkillExtractor, tokenize
from services.errors import ValidationFailed

logger = logging.getLogger(__name__)

TEXT_SATURATION = 8.0  # BM25 score at which the text relevance reaches one half
LEVEL_TO_RANK = {"entry": 0, "mid": 1, "senior": 2, "lead": 2}
RANK_NAMES = ("beginner", "intermediate", "advanced")
DEFAULT_WEEKLY_HOURS = 5.0


def profile_weekly_hours(profile: Mapping[str, Any] | None) -> float:
    """Weekly study hours from a profile (5 when missing or invalid)."""
    value = (profile or {}).get("weekly_hours")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        if math.isfinite(value):
            return float(value)
    return DEFAULT_WEEKLY_HOURS


def user_rank(profile: Mapping[str, Any] | None, known: set[str]) -> int:
    """0 beginner, 1 intermediate, 2 advanced: from experience level, else skill count."""
    level = (profile or {}).get("experience_level")
    if isinstance(level, str) and level.lower() in LEVEL_TO_RANK:
        return LEVEL_TO_RANK[level.lower()]
    return 0 if len(known) < 4 else 1 if len(known) < 12 else 2


class CourseRecommender:
    """Ranks catalog courses by goal skills and BM25 text relevance."""

    def __init__(
        self,
        catalog: Catalog,
        extractor: SkillExtractor,
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog = catalog
        self._extractor = extractor
        self._clock = clock
        docs = []
        for course in catalog.courses:
            names = " ".join(catalog.skill_name(s) for s in course.skills_taught)
            docs.append(tokenize(f"{course.title} {course.title} {names} {course.description}"))
        self._bm25 = IndexedBM25.fit(docs)
        self._vocab = set(self._bm25.idf)
        self._dependents: dict[str, set[str]] = {}
        for course in catalog.courses:
            for pre in course.prerequisites:
                for sid in course.skills_taught:
                    if sid != pre:
                        self._dependents.setdefault(pre, set()).add(sid)

    # helpers -----------------------------------------------------------------

    def _text_scores(self, text: str) -> list[float]:
        query = [t for t in tokenize(text) if t in self._vocab]
        if not query:
            return [0.0] * len(self._catalog.courses)
        return [float(s) for s in self._bm25.get_scores(query)]

    def _goal_role(self, goal: str) -> Role | None:
        role = self._catalog.role(goal)
        if role is not None:
            return role
        goal_tokens = set(tokenize(goal))
        best: tuple[int, str] | None = None
        found: Role | None = None
        for candidate in self._catalog.roles:
            title_tokens = set(tokenize(candidate.title))
            if title_tokens and title_tokens <= goal_tokens:
                key = (-len(title_tokens), candidate.slug)
                if best is None or key < best:
                    best, found = key, candidate
        return found

    def goal_weights(self, goal: str, known: set[str]) -> tuple[dict[str, float], set[str]]:
        """Skill id -> weight (0-1) of how central it is to the goal, and the supporting
        skills (prerequisites and follow-ups) among them."""
        weights: dict[str, float] = {}
        role = self._goal_role(goal)
        if role is not None:
            for req in role.required_skills:
                weights[req.skill] = 0.5 + 0.1 * req.level
        for sid in self._extractor.extract(goal):
            weights[sid] = 1.0
        core = set(weights)
        for sid in sorted(core, key=lambda s: (-weights[s], s)):
            weight = weights[sid]
            for course in self._catalog.courses_for_skill(sid)[:1]:
                for pre in course.prerequisites:
                    if pre not in known and pre not in weights:
                        weights[pre] = 0.55 * weight
            for dep in sorted(self._dependents.get(sid, ())):
                weights.setdefault(dep, 0.4 * weight)
        return weights, set(weights) - core

    def search(
        self, q: str | None = None, skill: str | None = None, difficulty: str | None = None
    ) -> list[Course]:
        """Catalog search: filter by skill and difficulty, rank by relevance to ``q``."""
        if difficulty is not None and difficulty not in DIFFICULTIES:
            raise ValidationFailed(
                "Unknown difficulty.",
                errors={"difficulty": [f"Must be one of: {', '.join(DIFFICULTIES)}."]},
            )
        skill_id = None
        if skill:
            skill_id = self._extractor.normalize_skill(skill)
            if skill_id is None:
                return []
        pool = [
            (i, c)
            for i, c in enumerate(self._catalog.courses)
            if (skill_id is None or skill_id in c.skills_taught)
            and (difficulty is None or c.difficulty == difficulty)
        ]
        if not q or not q.strip():
            return [c for _, c in sorted(pool, key=lambda p: (p[1].difficulty_rank, p[1].title))]
        scores = self._text_scores(q)
        mentioned = set(self._extractor.extract(q))
        ranked = []
        for i, course in pool:
            boost = 2.0 * len(mentioned & set(course.skills_taught))
            score = scores[i] + boost
            if score > 0:
                ranked.append((-score, course.difficulty_rank, course.slug, course))
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked]

    # streaming recommendations -------------------------------------------------

    def recommend(
        self, goal: str, profile: Mapping[str, Any] | None, limit: int, known: set[str]
    ) -> Iterator[dict[str, Any]]:
        """Yield NDJSON course lines for ``goal``, prerequisites first."""
        if limit < 1:
            return
        weights, support = self.goal_weights(goal, known)
        scores = self._text_scores(goal)
        top_text = max(scores, default=0.0)
        rank_user = user_rank(profile, known)
        candidates: list[tuple[float, Course]] = []
        for i, course in enumerate(self._catalog.courses):
            hits = [weights[s] for s in course.skills_taught if s in weights]
            skill_rel = min(1.0, max(hits) + 0.05 * (len(hits) - 1)) if hits else 0.0
            text_rel = scores[i] / (top_text + TEXT_SATURATION) if top_text > 0 else 0.0
            if skill_rel == 0 and scores[i] <= 0:
                continue
            relevance = 0.7 * skill_rel + 0.3 * text_rel if weights else text_rel * 0.8
            if hits and all(s in support for s in course.skills_taught if s in weights):
                relevance *= (1.0, 0.75, 0.5)[course.difficulty_rank]  # foundations first
            if all(s in known for s in course.skills_taught):
                relevance *= (0.4, 0.8, 1.0)[course.difficulty_rank]
            if course.difficulty_rank - rank_user >= 2:
                relevance *= 0.85
            candidates.append((relevance, course))
        candidates.sort(key=lambda c: (-c[0], c[1].difficulty_rank, c[1].slug))
        chosen = candidates[:limit]
        relevance_of = {c.id: r for r, c in chosen}
        ordered = order_courses(
            [c for _, c in chosen], lambda c: (c.difficulty_rank, -relevance_of[c.id])
        )
        weekly = profile_weekly_hours(profile)
        evidence = 1.0 if weights else 0.5
        taught_so_far: dict[str, Course] = {}
        for position, course in enumerate(ordered, start=1):
            relevance = relevance_of[course.id]
            yield self._line(
                course,
                goal,
                position,
                relevance,
                evidence,
                rank_user,
                known,
                weekly,
                taught_so_far,
            )
            for sid in course.skills_taught:
                taught_so_far.setdefault(sid, course)

    def _line(
        self,
        course: Course,
        goal: str,
        position: int,
        relevance: float,
        evidence: float,
        rank_user: int,
        known: set[str],
        weekly: float,
        taught_so_far: dict[str, Course],
    ) -> dict[str, Any]:
        missing = [
            p for p in course.prerequisites if p not in known and p not in course.skills_taught
        ]
        recommended: list[str] = []
        optional: dict[str, None] = {}
        for pre in missing:
            first = taught_so_far.get(pre)
            if first is None:
                options = self._catalog.courses_for_skill(pre)
                first = options[0] if options else None
            if first is not None and first.title not in recommended:
                recommended.append(first.title)
            for deeper_course in self._catalog.courses_for_skill(pre)[:1]:
                for deeper in deeper_course.prerequisites:
                    if deeper not in known and deeper not in missing:
                        optional.setdefault(self._catalog.skill_name(deeper), None)
        unmet = [p for p in missing if p not in taught_so_far]
        if unmet or course.difficulty_rank > rank_user:
            difficulty_match = "stretch"
        elif course.difficulty_rank < rank_user:
            difficulty_match = "easy"
        else:
            difficulty_match = "good"
        weeks = max(1, math.ceil(course.duration_hours / weekly - 1e-9))
        score = max(0, min(100, round(relevance * 100)))
        return {
            "course_recommendation": {
                "course_id": course.id,
                "title": course.title,
                "description": course.description,
                "provider": course.provider,
                "url": course.url,
                "duration_hours": course.duration_hours,
                "difficulty": course.difficulty,
            },
            "relevance_score": score,
            "difficulty_match": difficulty_match,
            "prerequisite_analysis": {
                "missing": [self._catalog.skill_name(p) for p in missing],
                "recommended": recommended,
                "optional": list(optional),
            },
            "estimated_completion_time": (
                f"{weeks} week{'s' if weeks != 1 else ''} at {format_hours(weekly)} h/week"
            ),
            "learning_goal": goal,
            "position_in_sequence": position,
            "metadata": {
                "analysis_confidence": round(min(1.0, relevance * evidence), 2),
                "last_updated": self._clock().isoformat(),
                "user_skill_level": RANK_NAMES[rank_user],
            },
        }
