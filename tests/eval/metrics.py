"""The evaluation-set figures: skill precision/recall, family accuracy, weak fit, traps.

Shared by tests/test_eval_set.py (goals as assertions) and bench/bench_answers.py
(figures written to bench/results/answers.json).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.career.engine import LocalCareerEngine
from tests.eval.ads_catalog import CATALOG_ADS
from tests.eval.ads_hard import OUT_OF_CATALOG_ADS, TRAP_ADS
from tests.eval.model import JobAd

ALL_ADS: tuple[JobAd, ...] = CATALOG_ADS + TRAP_ADS + OUT_OF_CATALOG_ADS
GOALS = {
    "top3_family": 0.95,
    "top1_family": 0.85,
    "skill_precision": 0.95,
    "skill_recall": 0.85,
    "out_of_catalog_weak": 0.90,
}


@dataclass
class Evaluation:
    """Counts over the set, and what went wrong ad by ad (for a person to read)."""

    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    in_catalog: int = 0
    top1: int = 0
    top3: int = 0
    out_of_catalog: int = 0
    weak: int = 0
    trap_hits: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        found = self.true_pos + self.false_pos
        wanted = self.true_pos + self.false_neg
        return {
            "ads": self.in_catalog + self.out_of_catalog,
            "in_catalog_ads": self.in_catalog,
            "out_of_catalog_ads": self.out_of_catalog,
            "trap_ads": len(TRAP_ADS),
            "skill_precision": round(self.true_pos / found, 4) if found else 0.0,
            "skill_recall": round(self.true_pos / wanted, 4) if wanted else 0.0,
            "top1_family": round(self.top1 / self.in_catalog, 4) if self.in_catalog else 0.0,
            "top3_family": round(self.top3 / self.in_catalog, 4) if self.in_catalog else 0.0,
            "out_of_catalog_weak": round(self.weak / self.out_of_catalog, 4)
            if self.out_of_catalog
            else 0.0,
            "trap_hits": len(self.trap_hits),
            "trap_hit_list": self.trap_hits,
            "misses": self.misses,
        }


def evaluate(engine: LocalCareerEngine, ads: tuple[JobAd, ...] = ALL_ADS) -> Evaluation:
    """Run every ad through the engine as an anonymous reader (no profile)."""
    result = Evaluation()
    for ad in ads:
        got = set(engine.extractor.extract(ad.text))
        result.true_pos += len(got & ad.skills)
        result.false_pos += len(got - ad.skills)
        result.false_neg += len(ad.skills - got)
        for skill in sorted(got & ad.traps):
            result.trap_hits.append(f"{ad.key}: {skill}")
        for skill in sorted(got - ad.skills - ad.traps):
            result.misses.append(f"{ad.key}: read {skill} that the label does not have")
        for skill in sorted(ad.skills - got):
            result.misses.append(f"{ad.key}: missed {skill}")
        answer = engine.recommend_roles(ad.text, {}, 5)
        families = [r["family"] for r in answer["recommendations"]]
        if ad.family is None:
            result.out_of_catalog += 1
            result.weak += answer["fit"] == "weak"
            if answer["fit"] != "weak":
                result.misses.append(f"{ad.key}: out of catalog but fit {answer['fit']}")
            continue
        result.in_catalog += 1
        result.top1 += bool(families) and families[0] == ad.family
        result.top3 += ad.family in families[:3]
        if not families or families[0] != ad.family:
            result.misses.append(f"{ad.key}: top family {families[:1]} instead of {ad.family}")
    return result
