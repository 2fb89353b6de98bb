"""In-memory career catalog: skills, roles and courses with case-insensitive indexes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import db

logger = logging.getLogger(__name__)

DIFFICULTIES = ("beginner", "intermediate", "advanced")
EXPERIENCE_LEVELS = ("entry", "mid", "senior", "lead")


@dataclass(frozen=True, slots=True)
class Skill:
    id: str
    name: str
    category: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RequiredSkill:
    skill: str
    level: int


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    slug: str
    title: str
    family: str
    description: str
    required_skills: tuple[RequiredSkill, ...]
    experience_level: str
    related_roles: tuple[str, ...] = ()

    @property
    def skill_ids(self) -> tuple[str, ...]:
        """Required skill ids, most important (highest level) first."""
        ordered = sorted(self.required_skills, key=lambda r: -r.level)
        return tuple(r.skill for r in ordered)


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    slug: str
    title: str
    description: str
    provider: str
    url: str
    duration_hours: float
    difficulty: str
    skills_taught: tuple[str, ...]
    prerequisites: tuple[str, ...] = ()

    @property
    def difficulty_rank(self) -> int:
        """0 for beginner, 1 for intermediate, 2 for advanced."""
        return DIFFICULTIES.index(self.difficulty)

    def summary(self) -> dict[str, Any]:
        """The short form used in learning-path milestones."""
        return {
            "course_id": self.id,
            "title": self.title,
            "provider": self.provider,
            "duration_hours": self.duration_hours,
            "difficulty": self.difficulty,
        }


class CatalogError(ValueError):
    """The catalog data is malformed or inconsistent."""


class Catalog:
    """Immutable collection of skills, roles and courses with lookup indexes."""

    def __init__(
        self, skills: Sequence[Skill], roles: Sequence[Role], courses: Sequence[Course]
    ) -> None:
        self.skills: tuple[Skill, ...] = tuple(skills)
        self.roles: tuple[Role, ...] = tuple(roles)
        self.courses: tuple[Course, ...] = tuple(courses)
        self._skills = {s.id: s for s in self.skills}
        self._roles_by_key: dict[str, Role] = {}
        for role in self.roles:
            for key in (role.id, role.slug, role.title):
                self._roles_by_key.setdefault(key.casefold(), role)
        self._courses_by_key: dict[str, Course] = {}
        for course in self.courses:
            for key in (course.id, course.slug, course.title):
                self._courses_by_key.setdefault(key.casefold(), course)
        self._courses_by_skill: dict[str, list[Course]] = {}
        for course in self.courses:
            for sid in course.skills_taught:
                self._courses_by_skill.setdefault(sid, []).append(course)
        for bucket in self._courses_by_skill.values():
            bucket.sort(key=lambda c: (c.difficulty_rank, len(c.skills_taught), c.slug))
        self._check_references()

    def _check_references(self) -> None:
        for role in self.roles:
            for req in role.required_skills:
                if req.skill not in self._skills:
                    raise CatalogError(f"role {role.slug} requires unknown skill {req.skill}")
        for course in self.courses:
            for sid in (*course.skills_taught, *course.prerequisites):
                if sid not in self._skills:
                    raise CatalogError(f"course {course.slug} references unknown skill {sid}")

    @classmethod
    def from_dicts(
        cls,
        skills: Iterable[Mapping[str, Any]],
        roles: Iterable[Mapping[str, Any]],
        courses: Iterable[Mapping[str, Any]],
    ) -> Catalog:
        """Build a catalog from plain dicts shaped like the seed JSON."""
        try:
            skill_objs = [
                Skill(
                    id=s["id"],
                    name=s["name"],
                    category=s.get("category", "general"),
                    aliases=tuple(s.get("aliases", ())),
                )
                for s in skills
            ]
            role_objs = [
                Role(
                    id=r["id"],
                    slug=r["slug"],
                    title=r["title"],
                    family=r["family"],
                    description=r["description"],
                    required_skills=tuple(
                        RequiredSkill(skill=x["skill"], level=int(x["level"]))
                        for x in r["required_skills"]
                    ),
                    experience_level=r["experience_level"],
                    related_roles=tuple(r.get("related_roles", ())),
                )
                for r in roles
            ]
            course_objs = [
                Course(
                    id=c["id"],
                    slug=c["slug"],
                    title=c["title"],
                    description=c["description"],
                    provider=c["provider"],
                    url=c["url"],
                    duration_hours=c["duration_hours"],
                    difficulty=c["difficulty"],
                    skills_taught=tuple(c["skills_taught"]),
                    prerequisites=tuple(c.get("prerequisites", ())),
                )
                for c in courses
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogError(f"malformed catalog entry: {exc!r}") from exc
        return cls(skill_objs, role_objs, course_objs)

    # lookups ---------------------------------------------------------------

    def skill(self, skill_id: str) -> Skill | None:
        """The skill with this id, or None."""
        return self._skills.get(skill_id)

    def skill_name(self, skill_id: str) -> str:
        """Display name of a skill id (the id itself if unknown)."""
        skill = self._skills.get(skill_id)
        return skill.name if skill else skill_id

    def role(self, key: str) -> Role | None:
        """A role by id, slug or title (case-insensitive), or None."""
        return self._roles_by_key.get(key.strip().casefold())

    def course(self, key: str) -> Course | None:
        """A course by id, slug or title (case-insensitive), or None."""
        return self._courses_by_key.get(key.strip().casefold())

    def courses_for_skill(self, skill_id: str) -> list[Course]:
        """Courses teaching a skill, easiest and most focused first."""
        return list(self._courses_by_skill.get(skill_id, ()))


def load_seed_catalog(seed_dir: Path | None = None) -> Catalog:
    """Read skills.json, roles.json and courses.json shipped in ``db/seed``."""
    folder = seed_dir or Path(db.__file__).parent / "seed"
    data = {}
    for name in ("skills", "roles", "courses"):
        with (folder / f"{name}.json").open(encoding="utf-8") as fh:
            data[name] = json.load(fh)
    catalog = Catalog.from_dicts(data["skills"], data["roles"], data["courses"])
    logger.info(
        "catalog loaded: %s skills, %s roles, %s courses",
        len(catalog.skills),
        len(catalog.roles),
        len(catalog.courses),
    )
    return catalog
