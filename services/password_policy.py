"""Password acceptance policy (NIST SP 800-63B-4, OWASP ASVS 5) and the shared strength rules.

Policy: 15 to 1024 characters (SP 800-63B-4 asks 15 for a password that is the only factor,
as it is here) counted as Unicode code points, any characters, no composition
rules; refused when the password is on the common-password list (zxcvbn's ``passwords``
frequency list, 30,000 entries), contains the e-mail's local part or the display name (or one
of their words of three characters or more, case-insensitively), or is guessable (zxcvbn score
below 3, i.e. under about 10^8 guesses).

Estimator: zxcvbn refuses input over 72 characters (``ValueError``) and mutates a module-level
dictionary for ``user_inputs`` on every call, which is not safe when several threads analyse
passwords at once. :func:`estimate_strength` drives zxcvbn's matcher and scorer directly with a
per-call dictionary set, analyses the first 72 characters and adds a length-based entropy for
the rest, discounted by how much the rest merely repeats (measured with zlib). It never
raises for a ``str``. :func:`find_vulnerabilities` and :data:`ADVICE` name what is weak in a
password and what to do instead; :mod:`services.passwords` builds its analysis from them.
"""

from __future__ import annotations

import logging
import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zxcvbn import feedback as zx_feedback
from zxcvbn import matching as zx_matching
from zxcvbn import scoring as zx_scoring

log = logging.getLogger(__name__)

MIN_LENGTH = 8  # the analyser's "too short" (POST /passwords/analyze), not the policy
POLICY_MIN_LENGTH = 15  # accounts: NIST SP 800-63B-4 for a single-factor password
MAX_LENGTH = 1024
ZXCVBN_WINDOW = 72
MIN_SCORE = 3
MIN_CONTEXT_PART = 3
_MAX_CONTEXT_TOKENS = 64
_MAX_CONTEXT_STRING = 256

# zxcvbn's own call adds this key on first use; having it present from the start means the
# global dict never changes size while another thread iterates it (repeat matching does).
zx_matching.RANKED_DICTIONARIES.setdefault("user_inputs", {})
_BASE_DICTIONARIES: dict[str, dict[str, int]] = {
    name: ranked
    for name, ranked in zx_matching.RANKED_DICTIONARIES.items()
    if name != "user_inputs"
}
COMMON_PASSWORDS: Mapping[str, int] = _BASE_DICTIONARIES["passwords"]

# zxcvbn's score thresholds (guesses, with its DELTA of 5), in log10.
_SCORE_THRESHOLDS_LOG10 = (math.log10(1e3 + 5), math.log10(1e6 + 5), math.log10(1e8 + 5),
                           math.log10(1e10 + 5))  # fmt: skip
_TOKEN_RE = re.compile(r"[^\W_]+")
# Bytes zlib adds when a long run merely repeats what it has seen (a back-reference or two).
_ZLIB_OVERHEAD = 6
# Top of the common-password list: a password built on one of these is flagged as such.
_COMMON_RANK = 1_000
_PATTERN_KEYS = {
    "spatial": "keyboard_pattern",
    "repeat": "repeats",
    "sequence": "sequence",
    "date": "dates",
    "regex": "dates",  # zxcvbn's only regex is "recent_year"
}
_HIDDEN_PATTERN_MIN = {"spatial": 6, "sequence": 5}


# Vulnerability key -> (what is wrong, what to do instead).
ADVICE: dict[str, tuple[str, str]] = {
    "too_short": (
        "Too short: fewer than 8 characters.",
        "Use at least 8 characters; 15 or more (for example four random words) is far better.",
    ),
    "breached": (
        "Breached: this exact password is on public lists of common and leaked passwords.",
        "Never use it again on any account; attackers try these lists first.",
    ),
    "common_password": (
        "Contains a commonly used password.",
        "Do not build on a common password; pick words that have nothing to do with each other.",
    ),
    "dictionary_word": (
        "Dictionary word: built mostly from a common word or name.",
        "Combine four or more random, unrelated words instead of one word or name.",
    ),
    "reversed_word": (
        "Contains a word spelled backwards, which guessing tools also try.",
        "Reversing a word adds almost nothing; add another unrelated word instead.",
    ),
    "l33t_substitution": (
        "L33t substitution: look-alike swaps such as '@' for 'a' or '0' for 'o'.",
        "Swaps like these are the first variations attackers try; add length instead.",
    ),
    "keyboard_pattern": (
        "Keyboard pattern: neighbouring keys such as 'qwerty' or 'zxcvbn'.",
        "Avoid runs of neighbouring keys, even with turns or the Shift key.",
    ),
    "repeats": (
        "Repeats: repeated characters or blocks such as 'aaa' or 'abcabc'.",
        "Replace repeated parts with new, unrelated words.",
    ),
    "sequence": (
        "Sequence: runs such as 'abc', '1234' or '9876'.",
        "Avoid alphabetical and numerical sequences.",
    ),
    "dates": (
        "Dates: contains a date or a recent year.",
        "Leave out dates and years, especially ones connected with you.",
    ),
    "personal_context": (
        "Contains personal context: your e-mail, name or other details about you.",
        "Remove personal details; attackers who target you try them first.",
    ),
    "guessable": (
        "Easy to guess: the estimate is under 100 million guesses.",
        "Make it longer: add two or three unrelated words or use a generated passphrase.",
    ),
}


@dataclass(frozen=True)
class StrengthEstimate:
    """What the estimator found.

    ``sequence`` (zxcvbn's cheapest explanation of the first 72 characters) and ``matches``
    (every pattern it matched there) hold password fragments: never log them.
    """

    guesses_log10: float
    score: int
    analysed_chars: int
    tail_bits: float
    tail_novelty: float
    warning: str = ""
    suggestions: tuple[str, ...] = ()
    sequence: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    matches: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def entropy_bits(self) -> float:
        """log2 of the estimated number of guesses."""
        return self.guesses_log10 * math.log2(10)


def is_common_password(password: str) -> bool:
    """Return True if *password* (case-insensitively) is on the common-password list."""
    return password.lower() in COMMON_PASSWORDS


def context_tokens(values: Iterable[str]) -> list[str]:
    """Lower-cased personal strings to look for: each value, and its words of >= 3 characters.

    For an e-mail address the local part and the domain labels before the top-level domain
    are used (``"ann.lee@acme.io"`` gives ``ann.lee``, ``annlee``, ``ann``, ``lee``, ``acme``).
    """
    tokens: list[str] = []
    seen: set[str] = set()

    def add(token: str) -> None:
        token = token.casefold()
        if len(token) >= MIN_CONTEXT_PART and token not in seen and len(seen) < _MAX_CONTEXT_TOKENS:
            seen.add(token)
            tokens.append(token)

    for value in values:
        value = value.strip()[:_MAX_CONTEXT_STRING]
        parts = [value]
        if value.count("@") == 1:
            local, domain = value.split("@")
            parts = [local, *domain.split(".")[:-1]]
        for part in parts:
            words = _TOKEN_RE.findall(part)
            add(part)
            add("".join(words))
            for word in words:
                add(word)
    return tokens


def personal_parts(*, email: str | None, display_name: str | None) -> list[str]:
    """The policy's personal parts: the e-mail local part and the display name, with words."""
    values: list[str] = []
    if email:
        values.append(email.rsplit("@", 1)[0] if "@" in email else email)
    if display_name:
        values.append(display_name)
    return context_tokens(values)


def contains_personal_info(password: str, tokens: Iterable[str]) -> bool:
    """Return True if any token (>= 3 characters) occurs in *password*, case-insensitively."""
    folded = password.casefold()
    return any(len(t) >= MIN_CONTEXT_PART and t in folded for t in tokens)


def score_from_log10(guesses_log10: float) -> int:
    """zxcvbn's 0-4 score for a number of guesses given as log10."""
    return sum(1 for threshold in _SCORE_THRESHOLDS_LOG10 if guesses_log10 >= threshold)


def estimate_strength(password: str, user_inputs: Sequence[str] = ()) -> StrengthEstimate:
    """Estimate how many guesses *password* resists (thread-safe, any length, never raises)."""
    head, tail = password[:ZXCVBN_WINDOW], password[ZXCVBN_WINDOW:]
    if head:
        dictionaries = dict(_BASE_DICTIONARIES)
        dictionaries["user_inputs"] = zx_matching.build_ranked_dict(
            [u.lower() for u in user_inputs]
        )
        matches = zx_matching.omnimatch(head, dictionaries)
        result = zx_scoring.most_guessable_match_sequence(head, matches)
        head_log10 = float(result["guesses_log10"])
        sequence = tuple(result["sequence"])
    else:
        head_log10, sequence, matches = 0.0, (), []
    tail_bits, novelty = _tail_entropy(head, tail)
    guesses_log10 = head_log10 + tail_bits * math.log10(2)
    score = score_from_log10(guesses_log10)
    advice = zx_feedback.get_feedback(score, list(sequence)) if head else {}
    return StrengthEstimate(
        guesses_log10=guesses_log10,
        score=score,
        analysed_chars=len(head),
        tail_bits=tail_bits,
        tail_novelty=novelty,
        warning=str(advice.get("warning") or ""),
        suggestions=tuple(advice.get("suggestions") or ()),
        sequence=sequence,
        matches=tuple(matches),
    )


def _pool_size(text: str) -> int:
    pool = 0
    if any(c.islower() and c.isascii() for c in text):
        pool += 26
    if any(c.isupper() and c.isascii() for c in text):
        pool += 26
    if any(c.isdigit() and c.isascii() for c in text):
        pool += 10
    if any(c.isascii() and not c.isalnum() for c in text):
        pool += 33
    if any(not c.isascii() for c in text):
        pool += 100
    return max(pool, 1)


def _tail_entropy(head: str, tail: str) -> tuple[float, float]:
    """Bits for the characters past zxcvbn's window, and the tail's novelty ratio (0-1).

    Each extra character is worth at most log2(pool) bits; that is scaled by how much of the
    tail zlib cannot predict from what came before (a tail repeating the head or itself adds
    next to nothing, random characters add almost their full share).
    """
    if not tail:
        return 0.0, 1.0
    head_bytes = head.encode("utf-8", "surrogatepass")
    tail_bytes = tail.encode("utf-8", "surrogatepass")
    grown = len(zlib.compress(head_bytes + tail_bytes, 9)) - len(zlib.compress(head_bytes, 9))
    novelty = min(1.0, max(0.0, (grown - _ZLIB_OVERHEAD) / len(tail_bytes)))
    return len(tail) * math.log2(_pool_size(tail)) * novelty, novelty


def find_vulnerabilities(
    password: str, estimate: StrengthEstimate, *, breached: bool, personal: bool
) -> list[str]:
    """Return the keys of :data:`ADVICE` that apply to *password*, in the table's order.

    Patterns come from the estimate (the first 72 characters); length, the breach list,
    personal context and repetition in the rest cover the whole password.
    """
    found: set[str] = set()
    if len(password) < MIN_LENGTH:
        found.add("too_short")
    if breached:
        found.add("breached")
    if personal:
        found.add("personal_context")
    # Words and common fragments only count against passwords that are not already very
    # strong: a long random passphrase is made of dictionary words by design.
    flag_words = estimate.entropy_bits < 64 and not breached
    # Short fragments happen by chance in random strings: only longer ones count there.
    min_token = 3 if flag_words else 6
    dictionary_chars = 0
    for match in estimate.sequence:  # the cheapest explanation zxcvbn found
        token = str(match.get("token", ""))
        if len(token) >= min_token:
            found.update(_pattern_keys(match, flag_words=flag_words))
        if match.get("pattern") == "dictionary" and match.get("dictionary_name") != "user_inputs":
            dictionary_chars += len(token)
    # Personal context, keyboard walks and sequences hidden behind a cheaper explanation
    # (e.g. "1qaz2wsx" is also on the common-password list).
    for match in estimate.matches:
        pattern, length = match.get("pattern"), len(str(match.get("token", "")))
        if match.get("dictionary_name") == "user_inputs":
            found.add("personal_context")
        elif (
            flag_words and pattern in _HIDDEN_PATTERN_MIN and length >= _HIDDEN_PATTERN_MIN[pattern]
        ):
            found.add(_PATTERN_KEYS[pattern])
    if dictionary_chars * 2 >= estimate.analysed_chars and flag_words:
        found.add("dictionary_word")
    if estimate.tail_novelty < 0.25 and estimate.analysed_chars < len(password):
        found.add("repeats")
    if estimate.score < MIN_SCORE and not breached:
        found.add("guessable")
    return [key for key in ADVICE if key in found]


def _pattern_keys(match: Mapping[str, Any], *, flag_words: bool) -> set[str]:
    pattern, token = match.get("pattern"), str(match.get("token", ""))
    if pattern == "dictionary":
        if match.get("dictionary_name") == "user_inputs":
            return {"personal_context"}
        if not flag_words:  # long random passphrases hold words, some spelled like others
            return set()
        keys = set()
        if match.get("l33t") and len(token) >= 4:
            keys.add("l33t_substitution")
        if match.get("reversed") and len(token) >= 4:
            keys.add("reversed_word")
        rank = match.get("rank", 10**9)
        if match.get("dictionary_name") == "passwords" and rank <= _COMMON_RANK:
            keys.add("common_password")
        return keys
    return {_PATTERN_KEYS[pattern]} if pattern in _PATTERN_KEYS else set()


def check_password_policy(
    password: str, *, email: str | None, display_name: str | None
) -> list[str]:
    """Return the reasons *password* is refused, each saying how to do better (empty = ok)."""
    reasons: list[str] = []
    length = len(password)
    if length < POLICY_MIN_LENGTH:
        reasons.append(
            f"Too short: {length} characters; use at least {POLICY_MIN_LENGTH}. A passphrase of "
            "four or more unrelated words is long and still easy to remember."
        )
    elif length > MAX_LENGTH:
        reasons.append(
            f"Too long: {length} characters; the maximum is {MAX_LENGTH}. Use a shorter passphrase."
        )
        return reasons  # not worth analysing further
    common = is_common_password(password)
    if common:
        reasons.append(
            "This password is on the list of the most common and breached passwords that "
            "attackers try first; choose one you have not seen elsewhere, such as several "
            "random words."
        )
    parts = personal_parts(email=email, display_name=display_name)
    if contains_personal_info(password, parts):
        reasons.append(
            "Contains your e-mail name or display name, which attackers try first; leave out "
            "personal details and use unrelated words instead."
        )
    if not common and length >= MIN_LENGTH:
        estimate = estimate_strength(password, parts)
        if estimate.score < MIN_SCORE:
            why = f" ({estimate.warning.rstrip('.')})" if estimate.warning else ""
            reasons.append(
                f"Too easy to guess{why}: add two or three more unrelated words or let a "
                "password manager generate one; length beats symbol substitutions."
            )
    return reasons
