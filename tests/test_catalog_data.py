"""The shipped catalog seed data: size, coverage, referential integrity, no cycles."""

from __future__ import annotations

import graphlib
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import db
from db.seed.generate_catalog import CATALOG_NAMESPACE, build_catalog
from services.career.catalog import Catalog, CatalogError, load_seed_catalog

SEED = Path(db.__file__).parent / "seed"
DIFFICULTY_RANK = {"beginner": 0, "intermediate": 1, "advanced": 2}
EXPECTED_FAMILIES = {
    "software",
    "infrastructure",
    "data",
    "security",
    "design",
    "product",
    "marketing",
    "sales",
    "finance",
    "people",
    "operations",
    "customer_success",
    "education",
    "healthcare_admin",
}


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((SEED / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def skills() -> list[dict[str, Any]]:
    return _load("skills")


@pytest.fixture(scope="module")
def roles() -> list[dict[str, Any]]:
    return _load("roles")


@pytest.fixture(scope="module")
def courses() -> list[dict[str, Any]]:
    return _load("courses")


def test_catalog_sizes_and_families(skills: list, roles: list, courses: list) -> None:
    assert len(skills) >= 250
    assert len(roles) >= 120
    assert len(courses) >= 400
    families = Counter(r["family"] for r in roles)
    assert set(families) >= EXPECTED_FAMILIES
    assert all(count >= 5 for count in families.values()), families
    levels = Counter(r["experience_level"] for r in roles)
    assert set(levels) == {"entry", "mid", "senior", "lead"}
    difficulties = Counter(c["difficulty"] for c in courses)
    assert set(difficulties) == set(DIFFICULTY_RANK)


def test_skills_have_unique_ids_and_real_world_synonyms(skills: list) -> None:
    ids = [s["id"] for s in skills]
    assert len(ids) == len(set(ids))
    by_id = {s["id"]: s for s in skills}
    for sid, alias in [
        ("javascript", "js"),
        ("kubernetes", "k8s"),
        ("postgresql", "postgres"),
        ("machine_learning", "ml"),
        ("product_management", "pm"),
        ("ci_cd", "continuous integration"),
        ("nodejs", "nodejs"),
    ]:
        assert alias in by_id[sid]["aliases"], (sid, alias)
    assert len({s["category"] for s in skills}) >= 15


def test_ids_are_deterministic_uuid5(roles: list, courses: list) -> None:
    for kind, rows in (("role", roles), ("course", courses)):
        for row in rows:
            assert row["id"] == str(uuid.uuid5(CATALOG_NAMESPACE, f"{kind}:{row['slug']}"))
    assert len({r["id"] for r in roles}) == len(roles)
    assert len({c["id"] for c in courses}) == len(courses)


def test_roles_reference_existing_skills_and_roles(skills: list, roles: list) -> None:
    skill_ids = {s["id"] for s in skills}
    slugs = {r["slug"] for r in roles}
    assert len(slugs) == len(roles)
    for role in roles:
        assert role["title"] and role["description"].count(".") >= 2, role["slug"]
        assert len(role["required_skills"]) >= 4, role["slug"]
        for req in role["required_skills"]:
            assert req["skill"] in skill_ids, (role["slug"], req)
            assert 1 <= req["level"] <= 5
        assert role["related_roles"], role["slug"]
        for related in role["related_roles"]:
            assert related in slugs and related != role["slug"], (role["slug"], related)


def test_courses_reference_existing_skills_and_look_real(skills: list, courses: list) -> None:
    skill_ids = {s["id"] for s in skills}
    for course in courses:
        assert course["skills_taught"], course["slug"]
        for sid in course["skills_taught"] + course["prerequisites"]:
            assert sid in skill_ids, (course["slug"], sid)
        assert course["url"].startswith("https://")
        assert course["provider"] and course["title"] and course["description"]
        assert 0 < course["duration_hours"] <= 200
        assert course["difficulty"] in DIFFICULTY_RANK
    assert len({c["provider"] for c in courses}) >= 15


def test_prerequisites_form_no_cycle_and_go_from_easy_to_hard(courses: list) -> None:
    easiest: dict[str, int] = {}
    for course in courses:
        for sid in course["skills_taught"]:
            rank = DIFFICULTY_RANK[course["difficulty"]]
            easiest[sid] = min(easiest.get(sid, 9), rank)
    graph: dict[str, set[str]] = {}
    for course in courses:
        rank = DIFFICULTY_RANK[course["difficulty"]]
        for pre in course["prerequisites"]:
            # something no harder than this course teaches the prerequisite
            assert easiest[pre] <= rank, (course["slug"], pre)
            if pre in course["skills_taught"]:
                assert rank > 0, course["slug"]  # only a harder course builds on itself
            for taught in course["skills_taught"]:
                if taught != pre:
                    graph.setdefault(taught, set()).add(pre)
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises on a cycle
    assert "python" in order and "kubernetes" in order
    assert order.index("docker") < order.index("kubernetes")


def test_every_required_skill_has_a_beginner_course(roles: list, courses: list) -> None:
    beginner = {s for c in courses if c["difficulty"] == "beginner" for s in c["skills_taught"]}
    required = {req["skill"] for r in roles for req in r["required_skills"]}
    assert required <= beginner, sorted(required - beginner)


def test_generator_is_deterministic_and_output_is_current(
    skills: list, roles: list, courses: list
) -> None:
    first, second = build_catalog(), build_catalog()
    assert first == second
    assert first == {"skills": skills, "roles": roles, "courses": courses}


def test_load_seed_catalog_indexes_case_insensitively() -> None:
    catalog = load_seed_catalog()
    role = catalog.role("data-engineer")
    assert role is not None
    assert catalog.role("DATA ENGINEER") is role
    assert catalog.role(role.id) is role
    assert catalog.role("no such role") is None
    course = catalog.courses_for_skill("kubernetes")[0]
    assert course.difficulty == "beginner"
    assert catalog.course(course.title.upper()) is course
    assert catalog.skill_name("k8s") == "k8s" and catalog.skill_name("kubernetes") == "Kubernetes"


def test_from_dicts_rejects_broken_references() -> None:
    skills = [{"id": "python", "name": "Python", "category": "programming", "aliases": []}]
    role = {
        "id": "r1",
        "slug": "dev",
        "title": "Dev",
        "family": "software",
        "description": "Writes code.",
        "required_skills": [{"skill": "cobol", "level": 3}],
        "experience_level": "mid",
        "related_roles": [],
    }
    with pytest.raises(CatalogError, match="cobol"):
        Catalog.from_dicts(skills, [role], [])
    with pytest.raises(CatalogError, match="malformed"):
        Catalog.from_dicts(skills, [{"slug": "x"}], [])
