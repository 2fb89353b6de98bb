"""The shape of one labelled job ad."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class JobAd:
    """A job ad as posted, with the labels a person gave it before any tuning.

    ``family``: the catalog job family a recruiter would file it under, or None when the
    catalog holds no such occupation (the answer must then say the fit is weak).
    ``skills``: the catalog skill ids a person would tick after reading the ad.
    ``traps``: skill ids a careless reader would see in an ambiguous word of the ad
    (EMR, SQL, Go, Spark...) and which must never be recognised.
    """

    key: str
    family: str | None
    skills: frozenset[str]
    text: str
    traps: frozenset[str] = field(default_factory=frozenset)


def ad(key: str, family: str | None, skills: str, text: str, traps: str = "") -> JobAd:
    """A JobAd from space-separated skill ids (keeps the data files readable)."""
    return JobAd(
        key, family, frozenset(skills.split()), " ".join(text.split()), frozenset(traps.split())
    )
