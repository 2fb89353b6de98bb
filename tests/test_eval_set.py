"""The labelled job-ad evaluation set: its shape, and the reading goals of issue #19."""

from __future__ import annotations

import re

import pytest

from services.career.catalog import Catalog, load_seed_catalog
from services.career.engine import LocalCareerEngine
from tests.eval.ads_catalog import CATALOG_ADS
from tests.eval.ads_hard import OUT_OF_CATALOG_ADS, TRAP_ADS
from tests.eval.metrics import ALL_ADS, GOALS, Evaluation, evaluate


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_seed_catalog()


@pytest.fixture(scope="module")
def evaluation(catalog: Catalog) -> Evaluation:
    return evaluate(LocalCareerEngine(catalog))


def test_the_set_covers_what_the_issue_asks(catalog: Catalog) -> None:
    assert len(ALL_ADS) >= 80
    assert len(OUT_OF_CATALOG_ADS) >= 10 and len(TRAP_ADS) >= 15
    assert {ad.family for ad in CATALOG_ADS} == {role.family for role in catalog.roles}
    assert len({ad.key for ad in ALL_ADS}) == len(ALL_ADS)
    for ad in ALL_ADS:
        for skill in ad.skills | ad.traps:
            assert catalog.skill(skill) is not None, (ad.key, skill)
        assert not ad.skills & ad.traps, ad.key
    words = set(re.findall(r"[\w+#]+", " ".join(ad.text for ad in TRAP_ADS).casefold()))
    for trap in "sql emr go r c swift spark rust excel ml pm ai bi crm qa".split():
        assert trap in words, trap


@pytest.mark.parametrize("goal", sorted(GOALS))
def test_reading_goal(evaluation: Evaluation, goal: str) -> None:
    figures = evaluation.figures()
    assert figures[goal] >= GOALS[goal], (figures[goal], figures["misses"])


def test_no_ambiguous_word_is_read_across_families(evaluation: Evaluation) -> None:
    assert evaluation.trap_hits == []
