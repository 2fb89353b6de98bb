"""Generate the catalog seed JSON (skills, roles, courses) deterministically.

Run from the project root:  python -m db.seed.generate_catalog
The output is stable (sorted keys, uuid5 ids, hash-based choices), so it can be
committed and regenerated without noise.  Every reference is validated before writing.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from db.seed.catalog_courses import (
    CATEGORY_PROVIDERS,
    CATEGORY_TOPICS,
    PROVIDER_URLS,
    SKILL_PROVIDERS,
    TITLE_TEMPLATES,
)

logger = logging.getLogger(__name__)

SEED_DIR = Path(__file__).parent
SOURCE_DIR = SEED_DIR / "source"
CATALOG_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fluentpro.app/catalog")
DIFFICULTIES = ("beginner", "intermediate", "advanced")
LEVELS = ("entry", "mid", "senior", "lead")
LEVEL_SENTENCES = {
    "entry": "It suits someone early in their career who is building foundations with guidance.",
    "mid": "It expects a few years of hands-on experience and owning work end to end.",
    "senior": "It expects deep expertise, ownership of complex work and mentoring others.",
    "lead": "It leads people or a function, sets direction and is accountable for outcomes.",
}
# categories whose courses are shorter (soft and business skills)
SHORT_CATEGORIES = frozenset({"business", "people", "customer", "sales"})


class CatalogError(ValueError):
    """The source data is inconsistent (unknown reference, cycle, duplicate)."""


def read_rows(name: str, width: int) -> list[list[str]]:
    """Rows of a tab-separated source file (``#`` lines are comments)."""
    rows = []
    path = SOURCE_DIR / name
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != width:
            raise CatalogError(f"{name}:{number}: expected {width} fields, got {len(fields)}")
        rows.append([f.strip() for f in fields])
    return rows


def skill_prerequisites() -> dict[str, tuple[str, ...]]:
    """Skill id -> skills a newcomer should know first (from source/skills.tsv)."""
    return {row[0]: tuple(row[4].split()) for row in read_rows("skills.tsv", 5) if row[4]}


def stable_id(kind: str, slug: str) -> str:
    """Deterministic UUID for a catalog object."""
    return str(uuid.uuid5(CATALOG_NAMESPACE, f"{kind}:{slug}"))


def _pick(key: str, options: tuple[str, ...]) -> str:
    digest = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    return options[digest % len(options)]


def _num(key: str, low: int, high: int) -> int:
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return low + digest % (high - low + 1)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def build_skills() -> list[dict[str, Any]]:
    """Skills taxonomy as plain dicts."""
    skills = []
    for sid, name, category, aliases, _ in read_rows("skills.tsv", 5):
        alias_list = sorted({a.strip() for a in aliases.split("|") if a.strip()} - {name.lower()})
        skills.append({"id": sid, "name": name, "category": category, "aliases": alias_list})
    return skills


def _parse_skills(spec: str) -> list[dict[str, Any]]:
    pairs = []
    for item in spec.split():
        skill, level = item.split(":")
        pairs.append({"skill": skill, "level": int(level)})
    return pairs


def build_roles(skill_names: dict[str, str]) -> list[dict[str, Any]]:
    """Roles with descriptions, required skills and related roles."""
    roles = []
    rows = read_rows("roles.tsv", 7)
    by_family: dict[str, list[str]] = {}
    for family, slug, *_ in rows:
        by_family.setdefault(family, []).append(slug)
    for family, slug, title, level, what, skills_spec, related in rows:
        required = _parse_skills(skills_spec)
        top = sorted(required, key=lambda r: (-r["level"], r["skill"]))[:4]
        names = [skill_names.get(r["skill"], r["skill"]) for r in top]
        description = f"{what} Day to day it relies on {_join(names)}. {LEVEL_SENTENCES[level]}"
        related_slugs = [s for s in related.split() if s != slug]
        for sibling in by_family[family]:
            if len(related_slugs) >= 3:
                break
            if sibling != slug and sibling not in related_slugs:
                related_slugs.append(sibling)
        roles.append(
            {
                "id": stable_id("role", slug),
                "slug": slug,
                "title": title,
                "family": family,
                "description": description,
                "required_skills": required,
                "experience_level": level,
                "related_roles": related_slugs,
            }
        )
    return roles


def _course(
    slug: str,
    title: str,
    description: str,
    provider: str,
    hours: int,
    difficulty: str,
    taught: Iterable[str],
    prerequisites: Iterable[str],
) -> dict[str, Any]:
    return {
        "id": stable_id("course", slug),
        "slug": slug,
        "title": title,
        "description": description,
        "provider": provider,
        "url": PROVIDER_URLS[provider].format(slug=slug),
        "duration_hours": hours,
        "difficulty": difficulty,
        "skills_taught": list(taught),
        "prerequisites": list(prerequisites),
    }


def build_courses(
    skills: list[dict[str, Any]], roles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One beginner course per skill, intermediate/advanced where roles need depth,
    plus the curated multi-skill courses."""
    max_level: dict[str, int] = {}
    for role in roles:
        for req in role["required_skills"]:
            max_level[req["skill"]] = max(max_level.get(req["skill"], 0), req["level"])
    skill_deps = skill_prerequisites()
    prereq_targets = {p for deps in skill_deps.values() for p in deps}
    courses = []
    for skill in skills:
        sid, name, category = skill["id"], skill["name"], skill["category"]
        levels = ["beginner"]
        if max_level.get(sid, 0) >= 3 or sid in prereq_targets:
            levels.append("intermediate")
        if max_level.get(sid, 0) >= 4:
            levels.append("advanced")
        provider_options = CATEGORY_PROVIDERS[category]
        for rank, difficulty in enumerate(levels):
            slug = f"{sid.replace('_', '-')}-{difficulty}"
            provider = SKILL_PROVIDERS.get(sid) if rank == 0 else None
            provider = provider or _pick(slug, provider_options)
            title = _pick(slug + ":title", TITLE_TEMPLATES[difficulty]).format(name=name)
            topic = CATEGORY_TOPICS[category][rank].format(name=name)
            audience = {
                0: "No prior experience with it is assumed.",
                1: f"For learners who know the basics of {name} and want to use it at work.",
                2: f"For practitioners who already use {name} regularly.",
            }[rank]
            low, high = ((4, 12), (10, 24), (16, 36))[rank]
            hours = _num(slug, low, high)
            if category in SHORT_CATEGORIES:
                hours = max(2, round(hours * 0.5))
            prereqs = list(skill_deps.get(sid, ())) if rank == 0 else [sid]
            courses.append(
                _course(
                    slug, title, f"{topic} {audience}", provider, hours, difficulty, [sid], prereqs
                )
            )
    for row in read_rows("courses.tsv", 8):
        c_slug, c_title, c_provider, c_hours, c_level, c_taught, c_prereqs, c_text = row
        courses.append(
            _course(
                c_slug,
                c_title,
                c_text,
                c_provider,
                int(c_hours),
                c_level,
                c_taught.split(),
                c_prereqs.split(),
            )
        )
    return courses


def validate(
    skills: list[dict[str, Any]], roles: list[dict[str, Any]], courses: list[dict[str, Any]]
) -> None:
    """Raise CatalogError on any broken reference, duplicate or prerequisite cycle."""
    skill_ids = [s["id"] for s in skills]
    if len(set(skill_ids)) != len(skill_ids):
        raise CatalogError("duplicate skill ids")
    known = set(skill_ids)
    slugs = [r["slug"] for r in roles]
    if len(set(slugs)) != len(slugs):
        raise CatalogError("duplicate role slugs")
    role_slugs = set(slugs)
    for sid, deps in skill_prerequisites().items():
        missing = ({sid} | set(deps)) - known
        if missing:
            raise CatalogError(f"skill prerequisites reference unknown skills {missing}")
    for role in roles:
        for req in role["required_skills"]:
            if req["skill"] not in known or not 1 <= req["level"] <= 5:
                raise CatalogError(f"role {role['slug']}: bad required skill {req}")
        if role["experience_level"] not in LEVELS:
            raise CatalogError(f"role {role['slug']}: bad experience level")
        for rel in role["related_roles"]:
            if rel not in role_slugs:
                raise CatalogError(f"role {role['slug']}: unknown related role {rel}")
    course_slugs = [c["slug"] for c in courses]
    if len(set(course_slugs)) != len(course_slugs):
        raise CatalogError("duplicate course slugs")
    best_rank: dict[str, int] = {}
    for course in courses:
        rank = DIFFICULTIES.index(course["difficulty"])
        for sid in course["skills_taught"]:
            best_rank[sid] = min(best_rank.get(sid, 9), rank)
    graph: dict[str, set[str]] = {}
    for course in courses:
        rank = DIFFICULTIES.index(course["difficulty"])
        for sid in course["skills_taught"] + course["prerequisites"]:
            if sid not in known:
                raise CatalogError(f"course {course['slug']}: unknown skill {sid}")
        for pre in course["prerequisites"]:
            if pre in course["skills_taught"] and rank == 0:
                raise CatalogError(f"beginner course {course['slug']} requires what it teaches")
            if best_rank.get(pre, 9) > rank:
                raise CatalogError(f"course {course['slug']}: no easier course teaches {pre}")
            for taught in course["skills_taught"]:
                if taught != pre:
                    graph.setdefault(taught, set()).add(pre)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        raise CatalogError(f"prerequisite cycle: {exc.args[1]}") from exc
    required = {req["skill"] for role in roles for req in role["required_skills"]}
    uncovered = required - set(best_rank)
    if uncovered:
        raise CatalogError(f"skills required by roles without a course: {sorted(uncovered)}")


def build_catalog() -> dict[str, list[dict[str, Any]]]:
    """Build and validate the whole catalog in memory."""
    skills = build_skills()
    names = {s["id"]: s["name"] for s in skills}
    roles = build_roles(names)
    courses = build_courses(skills, roles)
    validate(skills, roles, courses)
    return {"skills": skills, "roles": roles, "courses": courses}


def write_catalog(target: Path = SEED_DIR) -> dict[str, int]:
    """Write skills.json, roles.json and courses.json; return the counts."""
    catalog = build_catalog()
    counts = {}
    for name, rows in catalog.items():
        text = json.dumps(rows, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
        (target / f"{name}.json").write_text(text, encoding="utf-8")
        counts[name] = len(rows)
    return counts


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    logger.info("catalog written: %s", write_catalog())
