"""The built-in local career engine: deterministic role matching, learning paths and
course recommendations from the catalog (no network, no database)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from services.career.catalog import EXPERIENCE_LEVELS, Catalog, Course, Role
from services.career.courses import CourseRecommender, profile_weekly_hours
from services.career.planner import LearningPlanner
from services.career.scoring import (
    Reading,
    RoleMatch,
    RoleScorer,
    article,
    detect_level,
    fit_of,
    join_names,
    profile_text,
)
from services.career.taxonomy import SkillExtractor
from services.clock import utcnow
from services.errors import NotFound, ValidationFailed

logger = logging.getLogger(__name__)

MIN_MATCH_SCORE = 10  # roles scoring below this are not recommended
MAX_GAPS = 12
MAX_ALTERNATIVES = 5
__all__ = ["LocalCareerEngine", "detect_level"]


class LocalCareerEngine:
    """Deterministic career recommendations over an in-memory catalog.

    Indexes are built once here, so each call is a few milliseconds.
    """

    def __init__(self, catalog: Catalog, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.catalog = catalog
        self.extractor = SkillExtractor(catalog)
        self.planner = LearningPlanner(catalog)
        self.courses = CourseRecommender(catalog, self.extractor, clock)
        self.scorer = RoleScorer(catalog, self.extractor)

    # profiles ------------------------------------------------------------------

    def profile_skills(self, profile: Mapping[str, Any] | None) -> list[str]:
        """Skill ids from ``profile["skills"]`` (free-form names, synonyms allowed)."""
        return self.scorer.profile_skills(profile)

    # roles ----------------------------------------------------------------------

    def recommend_roles(
        self, job_description: str, profile: Mapping[str, Any] | None = None, limit: int = 5
    ) -> dict[str, Any]:
        """Roles matching a job description (API.md shape without source/processed_at)."""
        limit = max(1, min(int(limit), 25))
        reading = self.scorer.read(job_description or "", profile)
        top = [m for m in self.scorer.rank(reading, limit) if m.score >= MIN_MATCH_SCORE]
        has_profile = bool(reading.profile_skills)
        recommendations = []
        confidences = []
        evidence = min(1.0, (len(reading.mentions) + 2) / 8)
        for match in top:
            role = match.role
            recommendations.append(
                {
                    "role_id": role.id,
                    "title": role.title,
                    "description": role.description,
                    "match_score": match.score,
                    "fit": match.fit,
                    "reasoning": self._role_reasoning(match, reading.level, has_profile),
                    "required_skills": [self.catalog.skill_name(s) for s in role.skill_ids],
                    "experience_level": role.experience_level,
                    "family": role.family,
                    "matched_skills": [self.catalog.skill_name(s) for s in match.matched],
                    "missing_skills": [self.catalog.skill_name(s) for s in match.missing],
                }
            )
            confidences.append(max(0, min(100, round(match.score * (0.55 + 0.45 * evidence)))))
        best = top[0].score if top else 0
        return {
            "recommendations": recommendations,
            "reasoning": self._overall_reasoning(reading, top),
            "confidence_scores": confidences,
            "skill_gaps": self._skill_gaps([m.role for m in top[:3]], reading.known),
            "alternative_suggestions": self._alternatives([m.role for m in top]),
            "fit": fit_of(best),
            "recognised_skills": self.recognised(reading),
        }

    def recognised(self, reading: Reading) -> list[dict[str, str]]:
        """The skills read in the text and the words that triggered each one."""
        return [
            {"skill_id": m.skill, "name": self.catalog.skill_name(m.skill), "matched_text": m.words}
            for m in reading.mentions
        ]

    def role_match(self, text: str, profile: Mapping[str, Any] | None, role: Role) -> RoleMatch:
        """THE score of one role for (text, profile): what every feature shows for it."""
        return self.scorer.score(self.scorer.read(text, profile), role)

    def person_match(self, profile: Mapping[str, Any] | None, role: Role) -> dict[str, Any]:
        """How well the person fits ``role`` when no job text is involved (career report,
        learning-path gaps, the coach): the role scored against the person's own text."""
        match = self.role_match(profile_text(profile or {}), profile, role)
        return self._person_fit(match)

    def person_ranking(
        self, profile: Mapping[str, Any] | None, hint: str = "", limit: int = 5
    ) -> list[dict[str, Any]]:
        """Roles the person could move to next: not below their level nor their current
        role, ordered by their profile plus ``hint`` (what they said they want), and
        scored as ``person_match`` scores them, so every feature shows the same number."""
        profile = profile or {}
        own = self.scorer.read(profile_text(profile), profile)
        steer = self.scorer.read(f"{profile_text(profile)} {hint}", profile) if hint else own
        current = self.catalog.role(str(profile.get("current_role") or ""))
        level = profile.get("experience_level") or (current.experience_level if current else None)
        floor = EXPERIENCE_LEVELS.index(level) if level in EXPERIENCE_LEVELS else 0
        picked = []
        for match in self.scorer.rank(steer, 60):
            role = match.role
            if role is current or EXPERIENCE_LEVELS.index(role.experience_level) < floor:
                continue
            picked.append(self._person_fit(self.scorer.score(own, role)))
            if len(picked) == limit:
                break
        return picked

    def _person_fit(self, match: RoleMatch) -> dict[str, Any]:
        role = match.role
        return {
            "role_id": role.id,
            "title": role.title,
            "match_score": match.score,
            "fit": match.fit,
            "covered": [
                self.catalog.skill_name(s) for s in role.skill_ids if s not in match.missing
            ],
            "missing": [self.catalog.skill_name(s) for s in match.missing],
        }

    def nearest_roles(self, text: str, limit: int = 3) -> list[dict[str, str]]:
        """The catalog roles closest to ``text`` (for "no such role" answers)."""
        return [{"role_id": r.id, "title": r.title} for r in self.scorer.nearest(text, limit)]

    def recognise(self, text: str) -> list[dict[str, str]]:
        """The skills read in ``text`` and the words that triggered each one."""
        return self.recognised(self.scorer.read(text))

    def _role_reasoning(self, match: RoleMatch, level: str | None, has_profile: bool) -> str:
        role = match.role
        names = [self.catalog.skill_name(s) for s in match.matched]
        total = len(role.required_skills)
        needs = f"{article(role.title)} {role.title} needs"
        if names:
            parts = [
                f"The description mentions {join_names(names)}, covering {len(names)} of the "
                f"{total} skills {needs}."
            ]
        else:
            parts = [
                f"The description names none of the {total} skills {needs}; "
                "the match rests on similar wording only."
            ]
        if match.missing:
            source = (
                "your profile does not list" if has_profile else "the description does not mention"
            )
            gap_names = [self.catalog.skill_name(s) for s in match.missing[:5]]
            parts.append(f"It also requires {join_names(gap_names)}, which {source}.")
        else:
            parts.append("Every required skill is already covered.")
        if level is not None:
            if level == role.experience_level:
                parts.append(f"Its {role.experience_level} level matches the seniority asked for.")
            else:
                parts.append(
                    f"It is {article(role.experience_level)} {role.experience_level}-level role "
                    f"while the text reads as {level}."
                )
        return " ".join(parts)

    def _overall_reasoning(self, reading: Reading, top: list[RoleMatch]) -> list[str]:
        lines = []
        mentioned = [m.skill for m in reading.mentions]
        if mentioned:
            names = [self.catalog.skill_name(s) for s in mentioned[:12]]
            more = f" (and {len(mentioned) - 12} more)" if len(mentioned) > 12 else ""
            lines.append(
                f"Recognised {len(mentioned)} skills in the description: {join_names(names)}{more}."
            )
        else:
            lines.append(
                "The description mentions no recognisable skills, so roles can only be matched "
                "on wording and every match is weak."
            )
        if reading.level is not None:
            lines.append(
                f"The seniority reads as {reading.level}-level; roles at that level rank higher."
            )
        if reading.profile_skills:
            lines.append(
                f"Skill gaps are measured against the {len(reading.profile_skills)} skills "
                "in your profile."
            )
        if not top:
            lines.append(
                "No role in the catalog is a reasonable match; describe the responsibilities, "
                "tools and domain of the job in more detail."
            )
            return lines
        best = top[0]
        lines.append(
            f"{best.role.title} fits best with a score of {best.score}/100, matching "
            f"{len(best.matched)} of its {len(best.role.required_skills)} required skills."
        )
        if best.fit == "weak":
            lines.append(
                "No role in the catalog fits this text well: it may describe an occupation "
                "FluentPro does not cover, so treat these results as loose suggestions."
            )
        families = sorted({m.role.family for m in top})
        if len(families) > 1:
            lines.append(f"The matches span several job families: {join_names(families)}.")
        return lines

    def _skill_gaps(self, roles: list[Role], known: frozenset[str]) -> list[str]:
        weight: dict[str, float] = {}
        for rank, role in enumerate(roles):
            for req in role.required_skills:
                if req.skill not in known:
                    weight[req.skill] = weight.get(req.skill, 0.0) + req.level / (rank + 1)
        ordered = sorted(weight, key=lambda s: (-weight[s], s))[:MAX_GAPS]
        return [self.catalog.skill_name(s) for s in ordered]

    def _alternatives(self, roles: list[Role]) -> list[str]:
        shown = {r.slug for r in roles}
        titles: dict[str, None] = {}
        for role in roles:
            for slug in role.related_roles:
                related = self.catalog.role(slug)
                if related is not None and related.slug not in shown:
                    titles.setdefault(related.title, None)
        return list(titles)[:MAX_ALTERNATIVES]

    # learning paths and courses -------------------------------------------------

    def learning_path(
        self,
        target_role: str,
        profile: Mapping[str, Any] | None = None,
        timeline_weeks: int | None = None,
        weekly_hours: float = 5,
    ) -> dict[str, Any]:
        """A milestone plan toward ``target_role`` (id, slug or title).

        Raises NotFound for an unknown role and ValidationFailed (on ``timeline_weeks``,
        naming the minimum) when the courses cannot fit the timeline at ``weekly_hours``.
        """
        if not isinstance(target_role, str) or not target_role.strip():
            raise ValidationFailed(
                "A target role is required.", errors={"target_role": ["Must not be empty."]}
            )
        role = self.catalog.role(target_role)
        if role is None:
            raise NotFound(f"No role matches {target_role.strip()[:100]!r}.")
        return self.planner.build_path(
            role, self.profile_skills(profile), timeline_weeks, float(weekly_hours)
        )

    def recommend_courses(
        self, goal: str, profile: Mapping[str, Any] | None = None, limit: int = 10
    ) -> Iterator[dict[str, Any]]:
        """Yield up to ``limit`` NDJSON course lines for ``goal``, prerequisites first."""
        known = set(self.profile_skills(profile))
        return self.courses.recommend(goal or "", profile, int(limit), known)

    def search_courses(
        self, q: str | None = None, skill: str | None = None, difficulty: str | None = None
    ) -> list[Course]:
        """Catalog search ranked by relevance (deterministic)."""
        return self.courses.search(q, skill, difficulty)

    def weekly_hours(self, profile: Mapping[str, Any] | None) -> float:
        """The profile's weekly study hours (5 by default)."""
        return profile_weekly_hours(profile)
