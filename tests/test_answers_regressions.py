"""Issue #19's bugs, each as a user met it, through the HTTP API with no AI key."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.career_helpers import signed_in
from tests.conftest import AppFactory
from tests.task_helpers import assert_well_formed, create_task, watch

NO_SHEDDING = {"shed_lag_ms": 60_000}
DATA_ANALYST = {
    "current_role": "Data Analyst",
    "experience_level": "mid",
    "skills": ["SQL", "Python", "Apache Spark"],
}
SENIOR_DE_AD = (
    "Senior Data Engineer. You will design and run large-scale batch pipelines with Apache "
    "Spark on AWS EMR and Glue, model our data warehouse in Redshift, and orchestrate jobs "
    "with Airflow. We expect advanced SQL and Python, 6+ years of experience building ETL at "
    "scale, and the ability to mentor others."
)
NURSE_AD = (
    "Registered Nurse - Medical/Surgical Unit. Provide direct patient care to adults on a "
    "30-bed unit: assess patients, administer medications and IV therapy, monitor vital "
    "signs, document care in the EMR and educate patients and families. Active RN licence "
    "and BLS certification required; 12-hour shifts."
)


@pytest.fixture
async def client(make_client: AppFactory) -> TestClient[Any, Any]:
    # Load shedding is not under test here: a busy machine must not turn answers into 503s.
    return await make_client(monitor=NO_SHEDDING)


async def _roles(
    client: TestClient[Any, Any], headers: dict[str, str], text: str, limit: int = 5
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/recommendations/roles",
        json={"job_description": text, "limit": limit},
        headers=headers,
    )
    assert r.status == 200, await r.text()
    answer: dict[str, Any] = await r.json()
    return answer


def _score_of(answer: dict[str, Any], title: str) -> int:
    scores = [r["match_score"] for r in answer["recommendations"] if r["title"] == title]
    assert scores, [r["title"] for r in answer["recommendations"]]
    return int(scores[0])


async def test_sql_and_emr_are_read_as_a_data_engineer_means_them(
    client: TestClient[Any, Any],
) -> None:
    user = await signed_in(client, DATA_ANALYST)
    answer = await _roles(client, user.headers, SENIOR_DE_AD)
    recognised = {s["name"]: s["matched_text"] for s in answer["recognised_skills"]}
    assert recognised["SQL"] == "SQL" and recognised["Apache Spark"] == "Apache Spark"
    assert "Electronic Health Records" not in recognised and "Lead Generation" not in recognised
    # The user's own skills are never gaps, anywhere in the answer.
    for own in ("SQL", "Python", "Apache Spark"):
        assert own not in answer["skill_gaps"]
        for rec in answer["recommendations"]:
            assert own not in rec["missing_skills"], rec["title"]
    assert answer["recommendations"][0]["family"] == "data"

    terse = await _roles(client, user.headers, "AWS EMR and Glue with PySpark; Redshift; SQL", 3)
    assert "Clinical Data Analyst" not in [r["title"] for r in terse["recommendations"]]
    assert terse["recommendations"][0]["family"] == "data"


async def test_one_ad_one_person_one_score_in_every_feature(make_client: AppFactory) -> None:
    client = await make_client(monitor=NO_SHEDDING)
    user = await signed_in(client, DATA_ANALYST)
    answer = await _roles(client, user.headers, SENIOR_DE_AD)
    direct = _score_of(answer, "Senior Data Engineer")

    task = await create_task(
        client, user.headers, "batch_role_match", {"job_descriptions": [SENIOR_DE_AD]}
    )
    final = assert_well_formed(await watch(client, task["task_id"], user.headers), task["task_id"])
    assert final.event == "complete", final.data
    assert _score_of(final.data["result"]["results"][0], "Senior Data Engineer") == direct

    # Without an ad, the person's fit for a role is one number too: the career report,
    # its skill gaps and the learning path toward the role all show it.
    task = await create_task(
        client, user.headers, "career_report", {"target_role": "Data Engineer"}
    )
    final = assert_well_formed(await watch(client, task["task_id"], user.headers), task["task_id"])
    assert final.event == "complete", final.data
    report = final.data["result"]
    gaps_score = report["skill_gaps"]["match_score"]
    assert _score_of(report["role_recommendations"], "Data Engineer") == gaps_score
    assert "SQL" not in [m["name"] for m in report["skill_gaps"]["missing"]]
    r = await client.post(
        "/api/v1/learning-paths", json={"target_role": "Data Engineer"}, headers=user.headers
    )
    assert r.status == 201, await r.text()
    path = await r.json()
    assert path["target_role"]["match_score"] == gaps_score
    assert path["target_role"]["fit"] == report["skill_gaps"]["fit"]
    assert "SQL" not in path["skill_gaps"]


async def test_an_occupation_the_catalog_lacks_is_a_weak_fit(
    client: TestClient[Any, Any],
) -> None:
    user = await signed_in(client)
    answer = await _roles(client, user.headers, NURSE_AD)
    assert answer["fit"] == "weak"
    assert all(r["match_score"] < 50 and r["fit"] == "weak" for r in answer["recommendations"])
    assert any("No role in the catalog fits" in line for line in answer["reasoning"])


async def test_a_learning_path_to_a_role_the_catalog_lacks_names_the_nearest(
    client: TestClient[Any, Any],
) -> None:
    user = await signed_in(client)
    r = await client.post(
        "/api/v1/learning-paths",
        json={"target_role": "Senior Data Engineering Lead"},
        headers=user.headers,
    )
    assert r.status == 422, await r.text()
    assert r.content_type == "application/problem+json"
    problem = await r.json()
    titles = [s["title"] for s in problem["suggestions"]]
    assert "Data Engineer" in titles or "Senior Data Engineer" in titles, titles
    assert titles[0] in problem["detail"]
    assert problem["errors"]["target_role"]


async def test_reasoning_uses_the_right_article(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    answer = await _roles(
        client,
        user.headers,
        "Analytics Engineer: build dbt models on Snowflake, write SQL, test data quality and "
        "document the warehouse for analysts; Looker dashboards a plus.",
    )
    assert answer["recommendations"][0]["title"] == "Analytics Engineer"
    text = " ".join(r["reasoning"] for r in answer["recommendations"])
    assert "an Analytics Engineer needs" in text
    assert " a Analytics" not in text and " a Engineering" not in text
