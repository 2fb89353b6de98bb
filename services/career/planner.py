"""Learning paths: pick courses that close skill gaps, order them so prerequisites come
first, and spread them over a timeline that fits the learner's weekly hours."""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from services.career.catalog import Catalog, Course, RequiredSkill, Role
from services.errors import ValidationFailed

logger = logging.getLogger(__name__)

MAX_TIMELINE_WEEKS = 104
PHASES = ("Foundations", "Practice", "Mastery")
MAX_COURSES_PER_MILESTONE = 3


def target_rank(level: int) -> int:
    """Hardest course difficulty needed for a required skill level (1-5)."""
    if level <= 2:
        return 0
    return 1 if level <= 4 else 2


def format_hours(hours: float) -> str:
    """5.0 -> "5", 2.5 -> "2.5"."""
    return f"{hours:g}"


def _depends(before: Course, after: Course) -> bool:
    """True when ``before`` must come before ``after``."""
    if before is after:
        return False
    if before.difficulty_rank > after.difficulty_rank:
        return False  # a harder course never has to precede an easier one
    for pre in after.prerequisites:
        if pre in before.skills_taught and (
            pre not in after.skills_taught or before.difficulty_rank < after.difficulty_rank
        ):
            return True
    shared = set(before.skills_taught) & set(after.skills_taught)
    return bool(shared) and before.difficulty_rank < after.difficulty_rank


def order_courses(
    courses: Sequence[Course], priority: Callable[[Course], tuple[Hashable, ...]]
) -> list[Course]:
    """Topological order (prerequisites first); among ready courses the lowest
    ``priority`` key goes first, so the result is deterministic."""
    unique = list({c.id: c for c in courses}.values())
    successors: dict[str, list[Course]] = {c.id: [] for c in unique}
    indegree = {c.id: 0 for c in unique}
    for a in unique:
        for b in unique:
            if _depends(a, b):
                successors[a.id].append(b)
                indegree[b.id] += 1
    heap = [(priority(c), c.slug, c) for c in unique if indegree[c.id] == 0]
    heapq.heapify(heap)
    result: list[Course] = []
    while heap:
        _, _, course = heapq.heappop(heap)
        result.append(course)
        for nxt in successors[course.id]:
            indegree[nxt.id] -= 1
            if indegree[nxt.id] == 0:
                heapq.heappush(heap, (priority(nxt), nxt.slug, nxt))
    if len(result) < len(unique):  # a cycle: should not happen with a validated catalog
        left = sorted((c for c in unique if c not in result), key=lambda c: (priority(c), c.slug))
        logger.warning("prerequisite cycle among %s", [c.slug for c in left])
        result.extend(left)
    return result


class LearningPlanner:
    """Builds learning paths from the catalog; pure and deterministic."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def _focused(self, skill_id: str, rank: int) -> Course | None:
        for course in self._catalog.courses_for_skill(skill_id):
            if course.difficulty_rank == rank and course.skills_taught == (skill_id,):
                return course
        for course in self._catalog.courses_for_skill(skill_id):
            if course.difficulty_rank == rank:
                return course
        return None

    def select_courses(self, gaps: Sequence[RequiredSkill], known: Iterable[str]) -> list[Course]:
        """Courses closing ``gaps`` (up to the level each requires) plus beginner courses
        for any prerequisite that is neither known nor taught by another chosen course."""
        known_set = set(known)
        chosen: dict[str, Course] = {}
        for gap in gaps:
            for rank in range(target_rank(gap.level) + 1):
                course = self._focused(gap.skill, rank)
                if course is not None:
                    chosen.setdefault(course.id, course)
        queue = list(chosen.values())
        while queue:
            course = queue.pop(0)
            covered = {s for c in chosen.values() for s in c.skills_taught}
            for pre in course.prerequisites:
                if pre in known_set or pre in covered:
                    continue
                extra = self._focused(pre, 0)
                if extra is not None and extra.id not in chosen:
                    chosen[extra.id] = extra
                    queue.append(extra)
                    covered.update(extra.skills_taught)
        return list(chosen.values())

    def build_path(
        self,
        role: Role,
        known: Iterable[str],
        timeline_weeks: int | None,
        weekly_hours: float,
    ) -> dict[str, Any]:
        """The learning-path document for ``role`` (see API.md, minus id/source)."""
        if not weekly_hours or weekly_hours <= 0 or not math.isfinite(weekly_hours):
            raise ValidationFailed(
                "Weekly hours must be a positive number.",
                errors={"weekly_hours": ["Must be greater than 0."]},
            )
        if timeline_weeks is not None and not 1 <= timeline_weeks <= MAX_TIMELINE_WEEKS:
            raise ValidationFailed(
                "The timeline is out of range.",
                errors={"timeline_weeks": [f"Must be between 1 and {MAX_TIMELINE_WEEKS}."]},
            )
        known_set = set(known)
        gaps = [
            req
            for req in sorted(role.required_skills, key=lambda r: -r.level)
            if req.skill not in known_set
        ]
        importance = {req.skill: i for i, req in enumerate(gaps)}
        courses = self.select_courses(gaps, known_set)

        def priority(course: Course) -> tuple[int, int]:
            rank = min((importance.get(s, -1) for s in course.skills_taught), default=-1)
            return (course.difficulty_rank, rank)

        ordered = order_courses(courses, priority)
        total = sum(c.duration_hours for c in ordered)
        min_weeks = max(1, math.ceil(total / weekly_hours - 1e-9))
        hours_text = format_hours(weekly_hours)
        if timeline_weeks is None:
            if min_weeks > MAX_TIMELINE_WEEKS:
                raise ValidationFailed(
                    "The learning path does not fit in the maximum timeline.",
                    errors={
                        "timeline_weeks": [
                            f"{format_hours(total)} hours of courses at {hours_text} h/week "
                            f"need {min_weeks} weeks; the minimum is {min_weeks} weeks, more "
                            f"than the {MAX_TIMELINE_WEEKS}-week maximum. Plan more hours per "
                            "week."
                        ]
                    },
                )
            timeline_weeks = min_weeks
        elif timeline_weeks < min_weeks:
            raise ValidationFailed(
                "The timeline is too short for the courses needed.",
                errors={
                    "timeline_weeks": [
                        f"{format_hours(total)} hours of courses do not fit in {timeline_weeks} "
                        f"weeks at {hours_text} h/week; the minimum is {min_weeks} weeks."
                    ]
                },
                extra={"minimum_weeks": min_weeks},
            )
        milestones = self._milestones(role, ordered, total, timeline_weeks)
        return {
            "target_role": {"role_id": role.id, "title": role.title},
            "timeline_weeks": timeline_weeks,
            "weekly_hours": weekly_hours,
            "total_hours": total,
            "milestones": milestones,
            "skill_gaps": [self._catalog.skill_name(g.skill) for g in gaps],
        }

    def _milestones(
        self, role: Role, ordered: list[Course], total: float, timeline: int
    ) -> list[dict[str, Any]]:
        if not ordered:
            return [
                {
                    "week": 1,
                    "title": f"Ready: your skills already cover what a {role.title} needs",
                    "skills": [],
                    "courses": [],
                }
            ]
        pace = total / timeline  # hours per week actually needed, <= weekly hours
        groups: list[list[tuple[Course, int, int]]] = []
        elapsed = 0.0
        for course in ordered:
            start = math.floor(elapsed / pace + 1e-9) + 1
            elapsed += course.duration_hours
            end = max(start, min(timeline, math.ceil(elapsed / pace - 1e-9)))
            entry = (course, min(start, timeline), end)
            last = groups[-1] if groups else None
            if (
                last is not None
                and last[-1][0].difficulty_rank == course.difficulty_rank
                and len(last) < MAX_COURSES_PER_MILESTONE
            ):
                last.append(entry)
            else:
                groups.append([entry])
        milestones = []
        for group in groups:
            skills: dict[str, None] = {}
            for course, _, _ in group:
                for sid in course.skills_taught:
                    skills.setdefault(self._catalog.skill_name(sid), None)
            names = list(skills)
            label = ", ".join(names[:3]) + (" and more" if len(names) > 3 else "")
            phase = PHASES[group[0][0].difficulty_rank]
            milestones.append(
                {
                    "week": group[-1][2],
                    "title": f"{phase}: {label}",
                    "skills": names,
                    "courses": [
                        {**course.summary(), "start_week": start, "end_week": end}
                        for course, start, end in group
                    ],
                }
            )
        return milestones
