"""Skill recognition in free text: synonyms, spellings, punctuation and ambiguity."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

from services.career.catalog import Catalog
from services.career.senses import CUES, FIELD_OF_CATEGORY, NEGATIONS, ORDINARY, SENSES, Sense

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
class Mention:
    """A skill recognised in a text and the words, as written, that triggered it."""

    skill: str
    words: str


@dataclass(frozen=True, slots=True)
class _Token:
    norm: str
    raw: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Match:
    start: int  # token indexes
    end: int
    owners: tuple[str, ...]  # skills this phrase can mean (most often one)


_SINGLE_LETTER_BLOCKERS = "&-'’/"


class SkillExtractor:
    """Reads catalog skills in text: longest phrase first, ambiguous words by context.

    A phrase that can only mean one skill counts at once. An ordinary word or a short
    acronym (services/career/senses.py) counts only when the words around it, or the
    field the whole document is about, confirm it; a word that can mean two skills
    ("SQLs": query language or sales-qualified leads) takes the one the document
    supports. Profiles go through the same reader (``normalize_many``).
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        owners: dict[tuple[str, ...], list[str]] = {}
        for skill in catalog.skills:
            names = (skill.name, skill.id.replace("_", " "), *skill.aliases)
            for name in names:
                key = tuple(tokenize(name, drop_stopwords=False))
                if key and skill.id not in owners.setdefault(key, []):
                    owners[key].append(skill.id)
        self._phrases = {key: tuple(ids) for key, ids in owners.items()}
        self._max_len = max((len(k) for k in self._phrases), default=1)
        self._firsts = frozenset(k[0] for k in self._phrases)
        self._field = {s.id: FIELD_OF_CATEGORY.get(s.category, s.category) for s in catalog.skills}
        self._cue_field = {word: field for field, words in CUES.items() for word in words}

    def _tokens(self, text: str) -> list[_Token]:
        return [
            _Token(_norm(m.group()), m.group(), m.start(), m.end())
            for m in _TOKEN_RE.finditer(text)
        ]

    def _scan(self, tokens: list[_Token]) -> list[_Match]:
        """Greedy longest-phrase matches."""
        found: list[_Match] = []
        i, count = 0, len(tokens)
        firsts = self._firsts
        while i < count:
            if tokens[i].norm not in firsts:  # most words start no phrase: skip them fast
                i += 1
                continue
            for n in range(min(self._max_len, count - i), 0, -1):
                owners = self._phrases.get(tuple(t.norm for t in tokens[i : i + n]))
                if owners is not None:
                    found.append(_Match(i, i + n, owners))
                    i += n
                    break
            else:
                i += 1
        return found

    def _ambiguous(self, tokens: list[_Token], match: _Match) -> bool:
        if len(match.owners) > 1:
            return True
        return match.end - match.start == 1 and tokens[match.start].norm in ORDINARY

    def _support(self, tokens: list[_Token], strong: list[tuple[int, str]]) -> Counter[str]:
        """How much the document is about each field: its unambiguous skills count
        twice, each distinct cue word once."""
        support: Counter[str] = Counter()
        for _, sid in strong:
            field = self._field.get(sid, "")
            if field:
                support[field] += 2
        cues = {t.norm for t in tokens if t.norm in self._cue_field}
        for word in cues:
            support[self._cue_field[word]] += 1
        return support

    def _vetoed(self, text: str, tokens: list[_Token], index: int, sense: Sense | None) -> bool:
        token = tokens[index]
        before = tokens[index - 1].norm if index > 0 else ""
        if before in NEGATIONS or (index > 1 and tokens[index - 2].norm in NEGATIONS):
            return True
        if sense is None:
            return False
        if sense.forms and token.raw not in sense.forms:
            return True
        if len(token.raw) == 1:
            left = text[token.start - 1 : token.start]
            right = text[token.end : token.end + 1]
            if left in _SINGLE_LETTER_BLOCKERS or right in _SINGLE_LETTER_BLOCKERS:
                return True
        after = tokens[index + 1].norm if index + 1 < len(tokens) else ""
        if before in sense.veto_before or after in sense.veto_after:
            return True
        return token.norm == "pm" and before[:1].isdigit()  # "5 PM" is a time

    def _confidence(
        self,
        tokens: list[_Token],
        index: int,
        sid: str,
        sense: Sense | None,
        strong: list[tuple[int, str]],
        support: Counter[str],
    ) -> int:
        """Evidence for reading the word at ``index`` as ``sid``; 0 means none."""
        window = sense.window if sense else 6
        low, high = max(0, index - window), index + window + 1
        near = {t.norm for t in tokens[low:high]}
        field = self._field.get(sid, "")
        score = 0
        if sense is not None and sense.context & near:
            score += 4
        if any(low <= pos < high and self._field.get(s) == field for pos, s in strong):
            score += 3
        if sense is not None and sense.context_only:
            return score
        if sense is not None and sense.universal:
            return max(score, 1)
        if not field:
            return max(score, 1)  # business skills belong to every field
        if support[field] >= 2:
            score += support[field]
        return score

    def _resolve(
        self,
        text: str,
        tokens: list[_Token],
        pending: list[_Match],
        confirmed: list[tuple[int, str]],
        support: Counter[str],
    ) -> list[tuple[int, str]]:
        """``confirmed`` plus the ambiguous words it and the document support."""
        strong = list(confirmed)
        accepted = list(confirmed)
        done = {pos for pos, _ in confirmed}
        for match in pending:
            if match.start in done:
                continue
            one = match.end - match.start == 1
            sense = SENSES.get(tokens[match.start].norm) if one else None
            if self._vetoed(text, tokens, match.start, sense):
                continue
            best, best_score = "", 0
            for sid in match.owners:
                score = self._confidence(tokens, match.start, sid, sense, strong, support)
                if tokens[match.start].raw.endswith("s") and self._field.get(sid) == "sales":
                    score += 2  # "SQLs", "MQLs": counted leads, not a language
                if score > best_score:
                    best, best_score = sid, score
            if best:
                accepted.append((match.start, best))
        return accepted

    def read(self, text: str) -> list[Mention]:
        """Skills mentioned in ``text``, first mention each, in order of appearance."""
        tokens = self._tokens(text)
        strong: list[tuple[int, str]] = []
        pending: list[_Match] = []
        matches = self._scan(tokens)
        spans = {m.start: m.end for m in matches}
        for match in matches:
            if self._ambiguous(tokens, match):
                pending.append(match)
            elif not self._vetoed(text, tokens, match.start, None):
                strong.append((match.start, match.owners[0]))
        support = self._support(tokens, strong)
        # Two rounds: words accepted in the first confirm their neighbours in the second
        # ("BI dashboards ... SQL").
        confirmed = list(strong)
        for _ in range(2):
            accepted = self._resolve(text, tokens, pending, confirmed, support)
            if len(accepted) == len(confirmed):
                break
            confirmed = accepted
            support = self._support(tokens, confirmed)
        accepted.sort()
        seen: dict[str, Mention] = {}
        for pos, sid in accepted:
            if sid not in seen:
                words = text[tokens[pos].start : tokens[spans[pos] - 1].end]
                seen[sid] = Mention(sid, words)
        return list(seen.values())

    def extract(self, text: str) -> list[str]:
        """Skill ids mentioned in ``text``, unique, in order of first mention."""
        return [m.skill for m in self.read(text)]

    def normalize_skill(self, name: str) -> str | None:
        """The skill id for a skill name or synonym ("k8s" -> "kubernetes"), or None.

        A whole-string match stands for itself (a profile that lists "go" as a skill
        means the language); otherwise the text must mention exactly one skill.
        """
        stripped = name.strip()
        if self._catalog.skill(stripped) is not None:
            return stripped
        key = tuple(tokenize(stripped, drop_stopwords=False))
        if not key:
            return None
        owners = self._phrases.get(key)
        if owners is not None:
            named = [
                s for s in owners if self._catalog.skill_name(s).casefold() == stripped.casefold()
            ]
            return (named or list(owners))[0] if len(owners) == 1 or named else None
        found = self.extract(stripped) or self._explicit(stripped)
        return found[0] if len(found) == 1 else None

    def _explicit(self, name: str) -> list[str]:
        """Skills named in a profile entry read without the ambiguity rules: a person who
        types "advanced SQL skills" as one of their skills means a skill, not a word."""
        tokens = self._tokens(name)
        found: dict[str, None] = {}
        for match in self._scan(tokens):
            words = name[tokens[match.start].start : tokens[match.end - 1].end].casefold()
            named = [s for s in match.owners if self._catalog.skill_name(s).casefold() == words]
            for sid in named or (match.owners if len(match.owners) == 1 else ()):
                found.setdefault(sid, None)
        return list(found)

    def normalize_many(self, names: list[str] | tuple[str, ...]) -> list[str]:
        """Skill ids for a profile's free-form skill names, read as one document.

        Each entry is read like job text, with the other entries as its context, so a
        data person's "SQL" is the query language and a seller's "SQLs" are leads; an
        entry the context cannot place falls back to its whole-string meaning.
        """
        entries = [n for n in names if isinstance(n, str) and n.strip()]
        document = ".\n".join(entries)
        in_context = {m.skill: m for m in self.read(document)} if entries else {}
        result: dict[str, None] = {}
        for name in entries:
            read = [m.skill for m in in_context.values() if m.words.casefold() in name.casefold()]
            key = tuple(tokenize(name, drop_stopwords=False))
            owners = self._phrases.get(key, ())
            chosen = [s for s in read if s in owners] or (read if not owners else [])
            if not chosen:
                sid = self.normalize_skill(name)
                chosen = [sid] if sid is not None else []
            for sid in chosen:
                result.setdefault(sid, None)
        return list(result)
