"""The built-in local career engine: deterministic role matching, learning paths and
course recommendations from the catalog (no network, no database)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from services.career.bm25 import IndexedBM25
from services.career.catalog import EXPERIENCE_LEVELS, Catalog, Course, Role
from services.career.courses import CourseRecommender, profile_weekly_hours
from services.career.planner import LearningPlanner
from services.career.taxonomy import SkillExtractor, tokenize
from services.clock import utcnow
from services.errors import NotFound, ValidationFailed

logger = logging.getLogger(__name__)

TEXT_SATURATION = 12.0  # BM25 points added to the best score when normalising
TITLE_BONUS = 6.0  # the text names the role's title
MIN_MATCH_SCORE = 10  # roles scoring below this are not recommended
MAX_GAPS = 12
MAX_ALTERNATIVES = 5

_LEVEL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "lead",
        re.compile(
            r"\b(principal|head of|director|vice president|vp|chief|cto|cfo|coo|ciso"
            r"|team lead|tech lead|lead (?:engineer|developer|designer|analyst))\b",
            re.I,
        ),
    ),
    ("senior", re.compile(r"\b(senior|sr\.?)\b", re.I)),
    (
        "entry",
        re.compile(
            r"\b(junior|jr\.?|entry[- ]level|graduate|intern(?:ship)?|trainee|apprentice)\b", re.I
        ),
    ),
    ("mid", re.compile(r"\b(mid[- ]level|intermediate)\b", re.I)),
)
_YEARS_RE = re.compile(r"\b(\d{1,2})\s*\+?\s*(?:-\s*\d{1,2}\s*)?(?:years|yrs)\b", re.I)


def _join(names: list[str]) -> str:
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def detect_level(text: str) -> str | None:
    """Seniority the text asks for: entry/mid/senior/lead, or None if it does not say."""
    for level, pattern in _LEVEL_PATTERNS:
        if pattern.search(text):
            return level
    years = [int(m.group(1)) for m in _YEARS_RE.finditer(text)]
    if years:
        most = max(years)
        return "entry" if most < 2 else "mid" if most < 5 else "senior" if most < 9 else "lead"
    return None


class LocalCareerEngine:
    """Deterministic career recommendations over an in-memory catalog.

    Indexes are built once here, so each call is a few milliseconds.
    """

    def __init__(self, catalog: Catalog, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.catalog = catalog
        self.extractor = SkillExtractor(catalog)
        self.planner = LearningPlanner(catalog)
        self.courses = CourseRecommender(catalog, self.extractor, clock)
        docs = []
        for role in catalog.roles:
            names = " ".join(catalog.skill_name(s) for s in role.skill_ids)
            docs.append(tokenize(f"{role.title} {role.title} {role.description} {names}"))
        self._role_bm25 = IndexedBM25.fit(docs)
        self._role_vocab = set(self._role_bm25.idf)
        self._role_weight = [sum(r.level for r in role.required_skills) for role in catalog.roles]
        self._role_titles = [
            " " + " ".join(tokenize(role.title, drop_stopwords=False)) + " "
            for role in catalog.roles
        ]

    # profiles ------------------------------------------------------------------

    def profile_skills(self, profile: Mapping[str, Any] | None) -> list[str]:
        """Skill ids from ``profile["skills"]`` (free-form names, synonyms allowed)."""
        skills = (profile or {}).get("skills") or []
        if not isinstance(skills, list | tuple):
            return []
        return self.extractor.normalize_many([s for s in skills if isinstance(s, str)])

    # roles ----------------------------------------------------------------------

    def recommend_roles(
        self, job_description: str, profile: Mapping[str, Any] | None = None, limit: int = 5
    ) -> dict[str, Any]:
        """Roles matching a job description (API.md shape without source/processed_at)."""
        limit = max(1, min(int(limit), 25))
        text = job_description or ""
        mentioned = self.extractor.extract(text)
        mentioned_set = set(mentioned)
        profile_ids = self.profile_skills(profile)
        known = set(profile_ids) if profile_ids else mentioned_set
        level = detect_level(text)
        profile_level = (profile or {}).get("experience_level")
        if level is None and profile_level in EXPERIENCE_LEVELS:
            level = profile_level

        all_tokens = " " + " ".join(tokenize(text, drop_stopwords=False)) + " "
        query = [t for t in tokenize(text) if t in self._role_vocab]
        scores = [float(s) for s in self._role_bm25.get_scores(query)] if query else []
        top_text = max(scores, default=0.0)
        scored: list[tuple[int, float, Role, list[str]]] = []
        for i, role in enumerate(self.catalog.roles):
            req_ids = role.skill_ids
            matched = [s for s in req_ids if s in mentioned_set]
            covered = sum(r.level for r in role.required_skills if r.skill in mentioned_set)
            coverage = covered / (self._role_weight[i] or 1)
            precision = len(matched) / len(mentioned_set) if mentioned_set else 0.0
            skill_part = 0.6 * coverage + 0.4 * min(1.0, precision * 1.5)
            bm25 = scores[i] if scores else 0.0
            text_part = bm25 / (top_text + TEXT_SATURATION) if top_text > 0 else 0.0
            if profile_ids:
                had = sum(r.level for r in role.required_skills if r.skill in known)
                fit = had / (self._role_weight[i] or 1)
                raw = 0.5 * skill_part + 0.35 * text_part + 0.15 * fit
            else:
                raw = 0.6 * skill_part + 0.4 * text_part
            score = 100 * raw + self._level_adjustment(level, role.experience_level)
            if self._role_titles[i] in all_tokens:
                score += TITLE_BONUS
            if not matched:
                score = min(score, 35)
            scored.append((max(0, min(100, round(score))), bm25, role, matched))
        scored.sort(key=lambda s: (-s[0], -s[1], s[2].slug))
        top = [s for s in scored if s[0] >= MIN_MATCH_SCORE][:limit]

        recommendations = []
        confidences = []
        evidence = min(1.0, (len(mentioned) + 2) / 8)
        for score, _, role, matched in top:
            missing = [s for s in role.skill_ids if s not in known]
            recommendations.append(
                {
                    "role_id": role.id,
                    "title": role.title,
                    "description": role.description,
                    "match_score": score,
                    "reasoning": self._role_reasoning(
                        role, matched, missing, level, bool(profile_ids)
                    ),
                    "required_skills": [self.catalog.skill_name(s) for s in role.skill_ids],
                    "experience_level": role.experience_level,
                    "family": role.family,
                    "matched_skills": [self.catalog.skill_name(s) for s in matched],
                    "missing_skills": [self.catalog.skill_name(s) for s in missing],
                }
            )
            confidences.append(max(0, min(100, round(score * (0.55 + 0.45 * evidence)))))
        return {
            "recommendations": recommendations,
            "reasoning": self._overall_reasoning(mentioned, level, top, profile_ids),
            "confidence_scores": confidences,
            "skill_gaps": self._skill_gaps([t[2] for t in top[:3]], known),
            "alternative_suggestions": self._alternatives([t[2] for t in top]),
        }

    @staticmethod
    def _level_adjustment(wanted: str | None, role_level: str) -> float:
        if wanted is None:
            return 0.0
        distance = abs(EXPERIENCE_LEVELS.index(wanted) - EXPERIENCE_LEVELS.index(role_level))
        return (4.0, 0.0, -6.0, -10.0)[distance]

    def _role_reasoning(
        self,
        role: Role,
        matched: list[str],
        missing: list[str],
        level: str | None,
        has_profile: bool,
    ) -> str:
        names = [self.catalog.skill_name(s) for s in matched]
        total = len(role.required_skills)
        if names:
            parts = [
                f"The description mentions {_join(names)}, covering {len(names)} of the "
                f"{total} skills a {role.title} needs."
            ]
        else:
            parts = [
                f"The description names none of the {total} skills a {role.title} needs; "
                "the match rests on similar wording only."
            ]
        if missing:
            source = (
                "your profile does not list" if has_profile else "the description does not mention"
            )
            gap_names = [self.catalog.skill_name(s) for s in missing[:5]]
            parts.append(f"It also requires {_join(gap_names)}, which {source}.")
        else:
            parts.append("Every required skill is already covered.")
        if level is not None:
            if level == role.experience_level:
                parts.append(f"Its {role.experience_level} level matches the seniority asked for.")
            else:
                parts.append(
                    f"It is a {role.experience_level}-level role while the text reads as {level}."
                )
        return " ".join(parts)

    def _overall_reasoning(
        self,
        mentioned: list[str],
        level: str | None,
        top: list[tuple[int, float, Role, list[str]]],
        profile_ids: list[str],
    ) -> list[str]:
        lines = []
        if mentioned:
            names = [self.catalog.skill_name(s) for s in mentioned[:12]]
            more = f" (and {len(mentioned) - 12} more)" if len(mentioned) > 12 else ""
            lines.append(
                f"Recognised {len(mentioned)} skills in the description: {_join(names)}{more}."
            )
        else:
            lines.append(
                "The description mentions no recognisable skills, so roles can only be matched "
                "on wording and every match is weak."
            )
        if level is not None:
            lines.append(f"The seniority reads as {level}-level; roles at that level rank higher.")
        if profile_ids:
            lines.append(
                f"Skill gaps are measured against the {len(profile_ids)} skills in your profile."
            )
        if not top:
            lines.append(
                "No role in the catalog is a reasonable match; describe the responsibilities, "
                "tools and domain of the job in more detail."
            )
            return lines
        best_score, _, best, matched = top[0]
        lines.append(
            f"{best.title} fits best with a score of {best_score}/100, matching "
            f"{len(matched)} of its {len(best.required_skills)} required skills."
        )
        if best_score < 40:
            lines.append("Even the best match is weak; treat these results as loose suggestions.")
        families = sorted({t[2].family for t in top})
        if len(families) > 1:
            lines.append(f"The matches span several job families: {_join(families)}.")
        return lines

    def _skill_gaps(self, roles: list[Role], known: set[str]) -> list[str]:
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
