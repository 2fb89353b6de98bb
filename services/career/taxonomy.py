"""Skill recognition in free text: synonyms, spellings, punctuation and ambiguity."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from services.career.catalog import Catalog

logger = logging.getLogger(__name__)

# ".NET" standing alone, then words with an optional "+"/"#" tail (C++, C#)
_TOKEN_RE = re.compile(r"(?<![^\W_])\.net\b|[^\W_]+[+#]*", re.IGNORECASE)

STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be been being both but by
    can could did do does doing down during each etc few for from further had has have having
    he her here hers him his how i if in into is it its itself just like me more most my no
    nor not now of off on once only or other our ours out over own same she should so some
    such than that the their them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you
    your yours role team work working looking join company us ideal candidate strong
    experience years year plus including ability responsibilities requirements
    responsible new great help within across make get""".split()
)


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _norm(raw: str) -> str:
    low = raw.lower()
    return "dotnet" if low == ".net" else _stem(low)


def tokenize(text: str, *, drop_stopwords: bool = True) -> list[str]:
    """Lower-cased, lightly stemmed word tokens ("Node.js" -> ["node", "js"])."""
    tokens = [_norm(m.group()) for m in _TOKEN_RE.finditer(text)]
    if drop_stopwords:
        return [t for t in tokens if t not in STOPWORDS]
    return tokens


@dataclass(frozen=True, slots=True)
class _Rule:
    """When a short alias that is also an ordinary word counts as a skill."""

    forms: frozenset[str]  # accepted spellings, exact case
    context: frozenset[str] = frozenset()  # normalised words that confirm the meaning
    categories: frozenset[str] = frozenset()  # nearby skill categories that confirm it
    window: int = 6

    @property
    def needs_context(self) -> bool:
        return bool(self.context or self.categories)


_CODE = frozenset({"programming", "backend", "devops", "cloud", "database", "web"})
_RULES: dict[str, _Rule] = {
    "go": _Rule(
        frozenset({"Go", "GO"}),
        frozenset({"language", "programming", "goroutine", "concurrency", "lang", "backend"}),
        _CODE,
    ),
    "r": _Rule(
        frozenset({"R"}),
        frozenset(
            {"statistic", "statistical", "language", "programming", "regression", "cran", "shiny"}
        ),
        frozenset({"programming", "data", "ml"}),
    ),
    "c": _Rule(
        frozenset({"C"}),
        frozenset({"language", "programming", "embedded", "firmware", "pointer", "kernel"}),
        frozenset({"programming"}),
    ),
    "pm": _Rule(frozenset({"PM"})),
}
for _alias, _forms in {
    "ml": "ML",
    "ai": "AI",
    "ui": "UI",
    "ux": "UX",
    "bi": "BI",
    "xd": "XD",
    "ia": "IA",
    "him": "HIM",
    "sen": "SEN",
    "safe": "SAFe",
    "erm": "ERM",
    "rag": "RAG",
    "aria": "ARIA",
    "swift": "Swift SWIFT",
    "sketch": "Sketch",
    "dart": "Dart",
    "react": "React REACT",
    "express": "Express",
    "helm": "Helm",
    "jest": "Jest",
    "excel": "Excel EXCEL",
    "lean": "Lean LEAN",
    "sap": "SAP",
    "spark": "Spark",
    "hive": "Hive",
    "rail": "Rails",
    "ts": "TS",
    "ats": "ATS",
    "rust": "Rust RUST",
}.items():
    _RULES[_alias] = _Rule(frozenset(_forms.split()))

_SINGLE_LETTER_BLOCKERS = "&-'’/"


@dataclass(frozen=True, slots=True)
class _Token:
    norm: str
    raw: str
    start: int
    end: int


class SkillExtractor:
    """Finds catalog skills mentioned in text (longest phrase wins, word boundaries)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._phrases: dict[tuple[str, ...], str] = {}
        for skill in catalog.skills:
            names = (skill.name, skill.id.replace("_", " "), *skill.aliases)
            for name in names:
                key = tuple(tokenize(name, drop_stopwords=False))
                if not key:
                    continue
                owner = self._phrases.setdefault(key, skill.id)
                if owner != skill.id:
                    logger.debug("alias %r of %s already belongs to %s", name, skill.id, owner)
        self._max_len = max((len(k) for k in self._phrases), default=1)

    def _tokens(self, text: str) -> list[_Token]:
        return [
            _Token(_norm(m.group()), m.group(), m.start(), m.end())
            for m in _TOKEN_RE.finditer(text)
        ]

    def _scan(self, tokens: list[_Token]) -> list[tuple[int, int, str]]:
        """Greedy longest-phrase matches as (start index, end index, skill id)."""
        found: list[tuple[int, int, str]] = []
        i, count = 0, len(tokens)
        while i < count:
            for n in range(min(self._max_len, count - i), 0, -1):
                key = tuple(t.norm for t in tokens[i : i + n])
                sid = self._phrases.get(key)
                if sid is not None:
                    found.append((i, i + n, sid))
                    i += n
                    break
            else:
                i += 1
        return found

    def _accept(
        self,
        text: str,
        tokens: list[_Token],
        index: int,
        rule: _Rule,
        confirmed: list[tuple[int, str]],
    ) -> bool:
        token = tokens[index]
        if token.raw not in rule.forms:
            return False
        if len(token.raw) == 1:
            before = text[token.start - 1 : token.start]
            after = text[token.end : token.end + 1]
            if before in _SINGLE_LETTER_BLOCKERS or after in _SINGLE_LETTER_BLOCKERS:
                return False
        if token.norm == "pm" and index > 0 and tokens[index - 1].norm[:1].isdigit():
            return False  # "5 PM" is a time
        if not rule.needs_context:
            return True
        low, high = index - rule.window, index + rule.window
        if any(t.norm in rule.context for t in tokens[max(0, low) : high + 1]):
            return True
        for pos, sid in confirmed:
            skill = self._catalog.skill(sid)
            if low <= pos <= high and skill is not None and skill.category in rule.categories:
                return True
        return False

    def extract(self, text: str) -> list[str]:
        """Skill ids mentioned in ``text``, unique, in order of first mention."""
        tokens = self._tokens(text)
        matches = self._scan(tokens)
        confirmed: list[tuple[int, str]] = []
        pending: list[tuple[int, str, _Rule]] = []
        for start, end, sid in matches:
            rule = _RULES.get(tokens[start].norm) if end - start == 1 else None
            if rule is None:
                confirmed.append((start, sid))
            else:
                pending.append((start, sid, rule))
        # spelling-only rules first ("Rust"), so they can confirm context rules ("Go")
        pending.sort(key=lambda p: (p[2].needs_context, p[0]))
        for start, sid, rule in pending:
            if self._accept(text, tokens, start, rule, confirmed):
                confirmed.append((start, sid))
        accepted = list(confirmed)
        accepted.sort()
        seen: dict[str, None] = {}
        for _, sid in accepted:
            seen.setdefault(sid, None)
        return list(seen)

    def normalize_skill(self, name: str) -> str | None:
        """The skill id for a skill name or synonym ("k8s" -> "kubernetes"), or None.

        A whole-string match ignores the ambiguity rules (a profile that lists "go" as a
        skill means the language); otherwise the text must mention exactly one skill.
        """
        if self._catalog.skill(name.strip()) is not None:
            return name.strip()
        key = tuple(tokenize(name, drop_stopwords=False))
        if not key:
            return None
        sid = self._phrases.get(key)
        if sid is not None:
            return sid
        found = self.extract(name)
        return found[0] if len(found) == 1 else None

    def normalize_many(self, names: list[str] | tuple[str, ...]) -> list[str]:
        """Skill ids for a list of free-form skill names; unknown names are dropped."""
        result: dict[str, None] = {}
        for name in names:
            if not isinstance(name, str):
                continue
            sid = self.normalize_skill(name)
            if sid is not None:
                result.setdefault(sid, None)
        return list(result)
