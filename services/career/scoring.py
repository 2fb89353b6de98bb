"""The one scoring function: how well a catalog role fits a text and a person.

Every feature that shows a match score (role recommendations, batch matching, the
career report, learning-path gaps and the coach) reads its text with ``read`` and scores
roles with ``RoleScorer.score``; the same (text, profile) gives the same numbers
everywhere. docs/recommendations.md explains the formula and the fit bands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.career.bm25 import IndexedBM25
from services.career.catalog import EXPERIENCE_LEVELS, Catalog, Role
from services.career.taxonomy import STOPWORDS, Mention, SkillExtractor, tokenize

TEXT_SATURATION = 12.0  # BM25 points added to the best score when normalising
TITLE_BONUS = 6.0  # the text names the role's title
STRONG_FIT = 70  # score bands of the ``fit`` field
PARTIAL_FIT = 50
# With this little skill evidence a role cannot be more than a weak fit, however
# similar the wording: an ad for an occupation the catalog lacks (a nurse, a chef)
# shares a word or two with some role but not its skills.
WEAK_CAP = PARTIAL_FIT - 1
NO_SKILL_CAP = 35

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


def fit_of(score: int) -> str:
    """The fit band of a match score: strong (>= 70), partial (>= 50) or weak."""
    return "strong" if score >= STRONG_FIT else "partial" if score >= PARTIAL_FIT else "weak"


def profile_text(profile: Mapping[str, Any]) -> str:
    """The text that stands for a person when a feature has no job text of its own
    (career report, learning-path gaps, the coach): role, level, skills, goals."""
    parts = []
    if profile.get("current_role"):
        parts.append(f"Current role: {profile['current_role']}.")
    if profile.get("experience_level"):
        parts.append(f"Experience: {profile['experience_level']}.")
    skills = [s for s in profile.get("skills") or [] if isinstance(s, str)]
    if skills:
        parts.append("Skills: " + ", ".join(skills[:50]) + ".")
    goals = profile.get("goals")
    if isinstance(goals, list) and goals:
        parts.append("Goals: " + ", ".join(str(g) for g in goals[:10]) + ".")
    elif isinstance(goals, str) and goals:
        parts.append(f"Goals: {goals}.")
    return " ".join(parts) or "A professional looking for their next role."


@dataclass(frozen=True, slots=True)
class Reading:
    """A text read once: its skills (with the words that triggered them), its level,
    the person's skills, and the text-similarity of every role."""

    mentions: tuple[Mention, ...]
    skills: frozenset[str]
    profile_skills: tuple[str, ...]
    level: str | None
    text_scores: tuple[float, ...]
    top_text: float
    padded_tokens: str

    known: frozenset[str]  # the person's skills: the profile's, else (no profile) the text's


@dataclass(frozen=True, slots=True)
class RoleMatch:
    """One role scored against one reading."""

    role: Role
    score: int
    text_score: float
    matched: tuple[str, ...]  # required skills the text mentions, most important first
    missing: tuple[str, ...]  # required skills the person lacks, most important first

    @property
    def fit(self) -> str:
        return fit_of(self.score)


class RoleScorer:
    """Reads texts and scores catalog roles against them (pure, deterministic)."""

    def __init__(self, catalog: Catalog, extractor: SkillExtractor) -> None:
        self.catalog = catalog
        self.extractor = extractor
        docs = []
        for role in catalog.roles:
            names = " ".join(catalog.skill_name(s) for s in role.skill_ids)
            docs.append(tokenize(f"{role.title} {role.title} {role.description} {names}"))
        self._bm25 = IndexedBM25.fit(docs)
        self._vocab = set(self._bm25.idf)
        self._index = {role.id: i for i, role in enumerate(catalog.roles)}
        self._weight = [sum(r.level for r in role.required_skills) for role in catalog.roles]
        # (skill id, level) most important first, worked out once: Role.skill_ids sorts
        # on every call, and scoring visits every role for every text.
        self._required = [
            tuple(
                (s, next(r.level for r in role.required_skills if r.skill == s))
                for s in role.skill_ids
            )
            for role in catalog.roles
        ]
        self._levels = [role.experience_level for role in catalog.roles]
        self._slugs = [role.slug for role in catalog.roles]
        self._title_roots = [
            {_root(t) for t in tokenize(role.title)} or {""} for role in catalog.roles
        ]
        self._titles = [
            " " + " ".join(tokenize(role.title, drop_stopwords=False)) + " "
            for role in catalog.roles
        ]

    def profile_skills(self, profile: Mapping[str, Any] | None) -> list[str]:
        """Skill ids of ``profile["skills"]``, read in the context of one another."""
        skills = (profile or {}).get("skills") or []
        if not isinstance(skills, list | tuple):
            return []
        return self.extractor.normalize_many([s for s in skills if isinstance(s, str)])

    def read(self, text: str, profile: Mapping[str, Any] | None = None) -> Reading:
        """Read ``text`` for ``profile`` (the level falls back to the profile's)."""
        mentions = tuple(self.extractor.read(text))
        level = detect_level(text)
        profile_level = (profile or {}).get("experience_level")
        if level is None and profile_level in EXPERIENCE_LEVELS:
            level = str(profile_level)
        words = tokenize(text, drop_stopwords=False)
        query = [t for t in words if t in self._vocab and t not in STOPWORDS]
        scores = tuple(float(s) for s in self._bm25.get_scores(query)) if query else ()
        profile_ids = tuple(self.profile_skills(profile))
        return Reading(
            mentions=mentions,
            skills=frozenset(m.skill for m in mentions),
            profile_skills=profile_ids,
            known=frozenset(profile_ids) if profile_ids else frozenset(m.skill for m in mentions),
            level=level,
            text_scores=scores,
            top_text=max(scores, default=0.0),
            padded_tokens=" " + " ".join(words) + " ",
        )

    def score(self, reading: Reading, role: Role) -> RoleMatch:
        """THE match score of ``role`` for a reading, 0-100 (docs/recommendations.md)."""
        i = self._index[role.id]
        value, bm25 = self._value(reading, i)
        return self._match(reading, i, value, bm25)

    def _value(self, reading: Reading, i: int) -> tuple[int, float]:
        """The score of role ``i`` and its BM25 similarity (the number only: ranking
        computes it for every role, so it allocates nothing)."""
        mentioned, known = reading.skills, reading.known
        matched = covered = had = 0
        for skill, level in self._required[i]:
            if skill in mentioned:
                matched += 1
                covered += level
            if skill in known:
                had += level
        weight = self._weight[i] or 1
        coverage = covered / weight
        precision = matched / len(mentioned) if mentioned else 0.0
        skill_part = 0.6 * coverage + 0.4 * min(1.0, precision * 1.5)
        bm25 = reading.text_scores[i] if reading.text_scores else 0.0
        text_part = bm25 / (reading.top_text + TEXT_SATURATION) if reading.top_text > 0 else 0.0
        if reading.profile_skills:
            raw = 0.5 * skill_part + 0.35 * text_part + 0.15 * (had / weight)
        else:
            raw = 0.6 * skill_part + 0.4 * text_part
        score = 100 * raw + _level_adjustment(reading.level, self._levels[i])
        titled = self._titles[i] in reading.padded_tokens
        if titled:
            score += TITLE_BONUS
        if not matched:
            score = min(score, NO_SKILL_CAP)
        elif matched < 3 and coverage < 0.4 and not titled:
            score = min(score, WEAK_CAP)
        return max(0, min(100, round(score))), bm25

    def _match(self, reading: Reading, i: int, value: int, bm25: float) -> RoleMatch:
        required = self._required[i]
        known = reading.known
        matched = tuple(s for s, _ in required if s in reading.skills)
        missing = tuple(s for s, _ in required if s not in known)
        return RoleMatch(self.catalog.roles[i], value, bm25, matched, missing)

    def rank(self, reading: Reading, limit: int | None = None) -> list[RoleMatch]:
        """Roles best first (ties: more similar wording, then slug), the first ``limit``
        of them (all by default)."""
        values = [(*self._value(reading, i), i) for i in range(len(self.catalog.roles))]
        values.sort(key=lambda v: (-v[0], -v[1], self._slugs[v[2]]))
        return [self._match(reading, i, value, bm25) for value, bm25, i in values[:limit]]

    def nearest(self, text: str, limit: int = 3) -> list[Role]:
        """The roles closest to ``text`` when it names a role the catalog lacks: the
        words shared with each title first, then the wording of the whole role."""
        words = {_root(t) for t in tokenize(text)}
        reading = self.read(text)
        ranked = []
        for match in self.rank(reading):
            title = self._title_roots[self._index[match.role.id]]
            shared = len(words & title)
            if shared or match.text_score > 0:
                closeness = shared / len(title) + 0.5 * shared / max(1, len(words))
                ranked.append((-closeness, -match.text_score, match.role.slug, match.role))
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked[:limit]]


def _root(word: str) -> str:
    """A word's root for title comparisons ("engineering" and "engineer" agree)."""
    return word[:-3] if len(word) > 6 and word.endswith("ing") else word


def _level_adjustment(wanted: str | None, role_level: str) -> float:
    if wanted is None:
        return 0.0
    distance = abs(EXPERIENCE_LEVELS.index(wanted) - EXPERIENCE_LEVELS.index(role_level))
    return (4.0, 0.0, -6.0, -10.0)[distance]


def join_names(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def article(word: str) -> str:
    """'a' or 'an' before ``word`` ("an Analytics Engineer", "a UX Designer")."""
    first = word.strip()[:1].lower()
    if word[:2].isupper() and word[:2].isalpha():  # an acronym: "an SRE", "a UX role"
        return "an" if first in "aefhilmnorsx" else "a"
    return "an" if first in "aeiou" else "a"
