"""The local career engine: skill extraction, role matching, learning paths, course stream."""

from __future__ import annotations

import math
import re
import types
from datetime import UTC, datetime
from typing import Any

import pytest

from services.career.catalog import Catalog, Course, load_seed_catalog
from services.career.engine import LocalCareerEngine
from services.career.taxonomy import SkillExtractor
from services.errors import NotFound, ValidationFailed

FIXED_NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

JOB_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "backend": (
        "software",
        "We're hiring a Backend Engineer to design and build the RESTful APIs behind our "
        "marketplace. You'll write Python (FastAPI), model data in Postgres, cache with Redis, "
        "ship containers with Docker and keep services healthy with good unit tests and code "
        "reviews. Experience with Git and CI/CD expected.",
    ),
    "frontend": (
        "software",
        "Frontend Developer wanted: build accessible, responsive interfaces in React and "
        "TypeScript, turning Figma designs into pixel-perfect HTML/CSS. You care about WCAG, "
        "write Jest tests and obsess over page speed.",
    ),
    "devops": (
        "infrastructure",
        "DevOps Engineer to own our AWS infrastructure with Terraform, run workloads on k8s, "
        "build Jenkins and GitHub Actions pipelines, script in Bash on Linux and monitor "
        "everything with Prometheus and Grafana.",
    ),
    "data_science": (
        "data",
        "Data Scientist: build predictive models with Python, pandas and scikit-learn, design "
        "A/B tests, apply solid statistics and present findings to stakeholders. SQL required.",
    ),
    "security": (
        "security",
        "Security Analyst for our 24/7 SOC: monitor SIEM alerts in Splunk, triage suspicious "
        "activity, support incident response and keep network security controls tuned.",
    ),
    "design": (
        "design",
        "UX Designer to map user flows, create wireframes and interactive prototypes in Figma, "
        "run usability testing and user research, and shape the information architecture.",
    ),
    "product": (
        "product",
        "Product Manager to own the roadmap for our payments product, run customer discovery, "
        "write user stories, prioritise the backlog and align stakeholders. Comfortable with "
        "product analytics in Amplitude.",
    ),
    "marketing": (
        "marketing",
        "Digital Marketing Specialist running SEO, PPC campaigns in Google Ads, email "
        "campaigns and paid social, reporting results in GA4.",
    ),
    "sales": (
        "sales",
        "Account Executive to run the full sales cycle for our SaaS platform: prospecting, "
        "discovery, demos, negotiation and closing. You'll manage your pipeline in Salesforce "
        "and use MEDDPICC to qualify enterprise deals.",
    ),
    "finance": (
        "finance",
        "Financial Analyst to build financial models, budgets and rolling forecasts in Excel, "
        "run variance analysis and support FP&A reporting for the leadership team.",
    ),
    "people": (
        "people",
        "HR Generalist handling employee relations, performance reviews, new hire onboarding, "
        "HR policies and employment law questions; experience with BambooHR is a plus.",
    ),
    "operations": (
        "operations",
        "Supply Chain Analyst: demand planning, inventory control and supplier data analysis "
        "in SAP, with forecasting and reporting in Excel.",
    ),
    "customer_success": (
        "customer_success",
        "Customer Success Manager owning a portfolio of mid-market accounts: customer "
        "onboarding, product adoption, renewals, churn reduction and NPS follow-up.",
    ),
    "education": (
        "education",
        "Year 5 Teacher: plan engaging lessons, lead classroom management, use differentiated "
        "instruction and formative assessment, and communicate closely with parents.",
    ),
    "healthcare": (
        "healthcare_admin",
        "Medical Coder assigning ICD-10 and CPT codes from clinical documentation in Epic EHR. "
        "Strong medical terminology and HIPAA knowledge; CPC certification preferred.",
    ),
}

RECOMMENDATION_KEYS = {
    "role_id",
    "title",
    "description",
    "match_score",
    "reasoning",
    "required_skills",
    "experience_level",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_seed_catalog()


@pytest.fixture(scope="module")
def engine(catalog: Catalog) -> LocalCareerEngine:
    return LocalCareerEngine(catalog, clock=lambda: FIXED_NOW)


@pytest.fixture(scope="module")
def extractor(catalog: Catalog) -> SkillExtractor:
    return SkillExtractor(catalog)


# skill extraction -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kubernetes, k8s and K8S", ["kubernetes"]),
        ("JS and JavaScript", ["javascript"]),
        ("Postgres or PostgreSQL", ["postgresql"]),
        ("Node.js, node js and NodeJS", ["nodejs"]),
        ("C++ and C# on .NET", ["cpp", "csharp", "dotnet"]),
        ("CI/CD with GitHub Actions", ["ci_cd", "github_actions"]),
        ("ML and machine learning", ["machine_learning"]),
        ("Senior PM owning the roadmap", ["product_management", "roadmapping"]),
        ("A/B testing, ICD-10 and Power BI", ["ab_testing", "icd_10", "power_bi"]),
        ("Backend services in Go and Rust", ["go", "rust"]),
        ("statistics in R and Python", ["statistics", "r", "python"]),
    ],
)
def test_extractor_understands_synonyms_and_punctuation(
    extractor: SkillExtractor, text: str, expected: list[str]
) -> None:
    assert extractor.extract(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Let's go to the office and grab a coffee.",
        "Our R&D team reports to the C-suite.",
        "The standup is at 5 PM every day.",
        "There is rust on my old car, and we react quickly to problems.",
        "We trust our people to excel and express their ideas.",
    ],
)
def test_extractor_ignores_ambiguous_words_without_context(
    extractor: SkillExtractor, text: str
) -> None:
    assert extractor.extract(text) == []


def test_extractor_respects_word_boundaries(extractor: SkillExtractor) -> None:
    assert "r" not in extractor.extract("Rust, Ruby and React developers")
    assert "go" not in extractor.extract("Django and MongoDB")
    assert extractor.extract("embedded C firmware") == ["c", "embedded_systems"]


@pytest.mark.parametrize(
    ("name", "skill_id"),
    [
        ("k8s", "kubernetes"),
        ("JS", "javascript"),
        ("Postgres", "postgresql"),
        ("pm", "product_management"),
        ("go", "go"),
        ("Python 3", "python"),
        ("advanced SQL skills", "sql"),
        ("kubernetes", "kubernetes"),
        ("underwater basket weaving", None),
        ("", None),
    ],
)
def test_normalize_skill(extractor: SkillExtractor, name: str, skill_id: str | None) -> None:
    assert extractor.normalize_skill(name) == skill_id


# role recommendations -----------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(JOB_DESCRIPTIONS))
def test_job_descriptions_put_the_right_family_on_top(engine: LocalCareerEngine, key: str) -> None:
    family, text = JOB_DESCRIPTIONS[key]
    answer = engine.recommend_roles(text, None, 5)
    top = answer["recommendations"][0]
    assert top["family"] == family, [
        (r["title"], r["match_score"]) for r in answer["recommendations"]
    ]
    assert top["match_score"] >= 60
    assert top["matched_skills"] and top["matched_skills"][0] in top["reasoning"]


def test_answer_has_the_api_shape(engine: LocalCareerEngine, catalog: Catalog) -> None:
    answer = engine.recommend_roles(JOB_DESCRIPTIONS["backend"][1], None, 4)
    assert set(answer) == {
        "recommendations",
        "reasoning",
        "confidence_scores",
        "skill_gaps",
        "alternative_suggestions",
        "fit",
        "recognised_skills",
    }
    assert answer["fit"] in ("strong", "partial", "weak")
    recs = answer["recommendations"]
    assert len(recs) == 4
    assert len(answer["confidence_scores"]) == len(recs)
    scores = [r["match_score"] for r in recs]
    assert scores == sorted(scores, reverse=True)
    for rec in recs:
        assert RECOMMENDATION_KEYS <= set(rec)
        assert isinstance(rec["match_score"], int) and 0 <= rec["match_score"] <= 100
        role = catalog.role(rec["role_id"])
        assert role is not None and role.title == rec["title"]
        assert rec["experience_level"] == role.experience_level
        assert rec["required_skills"] == [catalog.skill_name(s) for s in role.skill_ids]
        assert rec["reasoning"].endswith(".")
    assert all(isinstance(c, int) and 0 <= c <= 100 for c in answer["confidence_scores"])
    assert answer["reasoning"][0].startswith("Recognised")
    assert "PostgreSQL" in answer["reasoning"][0]
    titles = {r["title"] for r in recs}
    assert answer["alternative_suggestions"]
    assert not titles & set(answer["alternative_suggestions"])


def test_synonyms_reach_the_recommendations(engine: LocalCareerEngine) -> None:
    answer = engine.recommend_roles("k8s, JS and Postgres", None, 3)
    matched = {s for r in answer["recommendations"] for s in r["matched_skills"]}
    assert {"Kubernetes", "JavaScript", "PostgreSQL"} <= matched
    assert "Kubernetes" in answer["reasoning"][0] and "JavaScript" in answer["reasoning"][0]


@pytest.mark.parametrize("text", ["asdf", "I like cats", "", "qwerty uiop zxcv"])
def test_unrelated_text_scores_low_and_says_so(engine: LocalCareerEngine, text: str) -> None:
    answer = engine.recommend_roles(text, None, 5)
    assert all(r["match_score"] < 30 for r in answer["recommendations"])
    assert len(answer["recommendations"]) <= 2
    assert "no recognisable skills" in answer["reasoning"][0]


def test_each_role_matches_its_own_description(engine: LocalCareerEngine, catalog: Catalog) -> None:
    for role in catalog.roles:
        skills = ", ".join(catalog.skill_name(s) for s in role.skill_ids)
        text = f"{role.title}. {role.description} Skills: {skills}."
        top = engine.recommend_roles(text, None, 3)["recommendations"][0]
        assert top["role_id"] == role.id, (role.slug, top["title"])
        assert top["match_score"] >= 75, (role.slug, top["match_score"])


def test_seniority_in_the_text_picks_the_level(engine: LocalCareerEngine) -> None:
    text = (
        "Senior Backend Engineer with 7+ years: design distributed systems and microservices "
        "on Kafka and Kubernetes, own Postgres data models and API design, mentor engineers."
    )
    answer = engine.recommend_roles(text, None, 3)
    assert answer["recommendations"][0]["title"] == "Senior Backend Engineer"
    assert any("senior" in line for line in answer["reasoning"])


def test_profile_skills_shape_the_gaps(engine: LocalCareerEngine) -> None:
    text = JOB_DESCRIPTIONS["data_science"][1]
    without = engine.recommend_roles(text, None, 3)
    profile = {"skills": ["Python", "pandas", "sklearn", "stats", "ML"], "experience_level": "mid"}
    answer = engine.recommend_roles(text, profile, 3)
    for name in ("Python", "pandas", "scikit-learn", "Statistics", "Machine Learning"):
        assert name not in answer["skill_gaps"]
    assert answer["skill_gaps"] and answer["skill_gaps"] != without["skill_gaps"]
    assert any("your profile" in line for line in answer["reasoning"])
    assert "your profile does not list" in answer["recommendations"][0]["reasoning"]


def test_limit_and_determinism(engine: LocalCareerEngine, catalog: Catalog) -> None:
    text = JOB_DESCRIPTIONS["marketing"][1]
    assert len(engine.recommend_roles(text, None, 1)["recommendations"]) == 1
    assert len(engine.recommend_roles(text, None, 25)["recommendations"]) <= 25
    first = engine.recommend_roles(text, {"skills": ["SEO"]}, 5)
    fresh = LocalCareerEngine(load_seed_catalog())
    assert fresh.recommend_roles(text, {"skills": ["SEO"]}, 5) == first
    assert engine.recommend_roles(text, {"skills": ["SEO"]}, 5) == first


# learning paths -------------------------------------------------------------------------


def _path_courses(catalog: Catalog, path: dict[str, Any]) -> list[Course]:
    courses = []
    for milestone in path["milestones"]:
        for entry in milestone["courses"]:
            course = catalog.course(entry["course_id"])
            assert course is not None
            courses.append(course)
    return courses


def test_learning_path_orders_prerequisites_and_fits_the_timeline(
    engine: LocalCareerEngine, catalog: Catalog
) -> None:
    profile = {"skills": ["Python", "Excel"]}
    path = engine.learning_path("Data Engineer", profile, None, 5)
    role = catalog.role("data-engineer")
    assert role is not None
    assert path["target_role"] == {"role_id": role.id, "title": "Data Engineer"}
    assert "Python" not in path["skill_gaps"] and "SQL" in path["skill_gaps"]
    courses = _path_courses(catalog, path)
    seen: set[str] = {"python", "excel"}
    for course in courses:
        for pre in course.prerequisites:
            assert pre in seen, f"{course.slug} needs {pre} before it is taught"
        seen.update(course.skills_taught)
    gap_ids = {req.skill for req in role.required_skills} - {"python"}
    assert gap_ids <= seen
    total = sum(c.duration_hours for c in courses)
    assert path["total_hours"] == total
    assert path["timeline_weeks"] == math.ceil(total / 5)
    weeks = [m["week"] for m in path["milestones"]]
    assert weeks == sorted(weeks) and 1 <= weeks[0] and weeks[-1] <= path["timeline_weeks"]
    for milestone in path["milestones"]:
        assert milestone["title"] and milestone["skills"]
        for entry in milestone["courses"]:
            assert set(entry) >= {"course_id", "title", "provider", "duration_hours", "difficulty"}


def test_learning_path_spreads_over_a_longer_timeline(
    engine: LocalCareerEngine, catalog: Catalog
) -> None:
    path = engine.learning_path("ux-designer", None, 60, 5)
    assert path["timeline_weeks"] == 60
    assert path["milestones"][-1]["week"] == 60
    faster = engine.learning_path("ux-designer", None, None, 10)
    slower = engine.learning_path("ux-designer", None, None, 5)
    assert faster["timeline_weeks"] < slower["timeline_weeks"]
    assert _path_courses(catalog, faster) == _path_courses(catalog, slower)


def test_impossible_timeline_names_the_minimum(engine: LocalCareerEngine) -> None:
    minimum = engine.learning_path("data-engineer", {"skills": ["python"]}, None, 5)[
        "timeline_weeks"
    ]
    with pytest.raises(ValidationFailed) as exc_info:
        engine.learning_path("data-engineer", {"skills": ["python"]}, 2, 5)
    errors = exc_info.value.errors
    assert errors is not None
    assert f"the minimum is {minimum} weeks" in errors["timeline_weeks"][0]
    assert engine.learning_path("data-engineer", {"skills": ["python"]}, minimum, 5)
    for bad in (0, 105):
        with pytest.raises(ValidationFailed):
            engine.learning_path("data-engineer", None, bad, 5)


def test_learning_path_lookup_and_unknown_role(engine: LocalCareerEngine, catalog: Catalog) -> None:
    role = catalog.role("teacher")
    assert role is not None
    by_id = engine.learning_path(role.id, None, None, 5)
    assert engine.learning_path("TEACHER", None, None, 5) == by_id
    assert engine.learning_path("teacher", None, None, 5) == by_id
    with pytest.raises(NotFound):
        engine.learning_path("astronaut", None, None, 5)


def test_learning_path_when_nothing_is_missing(engine: LocalCareerEngine, catalog: Catalog) -> None:
    role = catalog.role("tutor")
    assert role is not None
    profile = {"skills": [catalog.skill_name(s) for s in role.skill_ids]}
    path = engine.learning_path("tutor", profile, None, 5)
    assert path["skill_gaps"] == []
    assert path["timeline_weeks"] == 1
    assert [m["courses"] for m in path["milestones"]] == [[]]


# course stream --------------------------------------------------------------------------


def _check_order(catalog: Catalog, lines: list[dict[str, Any]]) -> None:
    courses = [catalog.course(line["course_recommendation"]["course_id"]) for line in lines]
    for i, course in enumerate(courses):
        assert course is not None
        for later in courses[i + 1 :]:
            assert later is not None
            teaches_prereq = any(
                p in later.skills_taught and p not in course.skills_taught
                for p in course.prerequisites
            )
            assert not (teaches_prereq and later.difficulty_rank <= course.difficulty_rank), (
                f"{later.slug} should come before {course.slug}"
            )


@pytest.mark.parametrize(
    ("goal", "limit"),
    [("learn kubernetes", 5), ("become a data scientist", 8), ("Medical coding", 4)],
)
def test_course_stream_yields_limit_valid_lines(
    engine: LocalCareerEngine, catalog: Catalog, goal: str, limit: int
) -> None:
    stream = engine.recommend_courses(goal, {"skills": ["Linux"], "weekly_hours": 4}, limit)
    assert isinstance(stream, types.GeneratorType)
    lines = list(stream)
    assert len(lines) == limit
    assert [line["position_in_sequence"] for line in lines] == list(range(1, limit + 1))
    for line in lines:
        course = line["course_recommendation"]
        assert set(course) == {
            "course_id", "title", "description", "provider", "url", "duration_hours", "difficulty"
        }  # fmt: skip
        assert catalog.course(course["course_id"]) is not None
        assert isinstance(line["relevance_score"], int) and 0 <= line["relevance_score"] <= 100
        assert line["difficulty_match"] in {"good", "stretch", "easy"}
        assert set(line["prerequisite_analysis"]) == {"missing", "recommended", "optional"}
        assert "Linux" not in line["prerequisite_analysis"]["missing"]
        assert re.fullmatch(r"\d+ weeks? at 4 h/week", line["estimated_completion_time"])
        assert line["learning_goal"] == goal
        meta = line["metadata"]
        assert 0 <= meta["analysis_confidence"] <= 1
        assert datetime.fromisoformat(meta["last_updated"]) == FIXED_NOW
        assert meta["user_skill_level"] in {"beginner", "intermediate", "advanced"}
    _check_order(catalog, lines)
    assert max(line["relevance_score"] for line in lines) >= 70


def test_course_stream_checks_prerequisites_against_the_profile(
    engine: LocalCareerEngine,
) -> None:
    fresh = list(engine.recommend_courses("learn kubernetes", None, 5))
    titles = [line["course_recommendation"]["title"] for line in fresh]
    intro = fresh[titles.index("Getting Started with Kubernetes")]
    assert intro["prerequisite_analysis"]["missing"] == ["Docker"]
    assert intro["prerequisite_analysis"]["recommended"]
    knows_docker = list(engine.recommend_courses("learn kubernetes", {"skills": ["docker"]}, 5))
    for line in knows_docker:
        assert "Docker" not in line["prerequisite_analysis"]["missing"]
    assert list(engine.recommend_courses("learn kubernetes", None, 5)) == fresh


def test_course_stream_for_gibberish_is_empty(engine: LocalCareerEngine) -> None:
    assert list(engine.recommend_courses("asdf qwerty", None, 5)) == []


def test_search_courses(engine: LocalCareerEngine) -> None:
    hits = engine.search_courses("kubernetes", None, None)
    assert hits and "Kubernetes" in hits[0].title
    advanced = engine.search_courses(None, "k8s", "advanced")
    assert advanced and all(
        "kubernetes" in c.skills_taught and c.difficulty == "advanced" for c in advanced
    )
    assert engine.search_courses(None, "not a skill at all", None) == []
    assert engine.search_courses("kubernetes", None, None) == hits
    with pytest.raises(ValidationFailed):
        engine.search_courses("python", None, "expert")
