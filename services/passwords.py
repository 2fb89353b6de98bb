"""Password analysis and generation (``/passwords/analyze`` and ``/passwords/generate``).

Everything is local and CPU-bound: zxcvbn (through :mod:`services.password_policy`'s
thread-safe estimator), the bundled common-password list, xkcdpass's word list and
:mod:`secrets`. The password never leaves the process: this module logs nothing derived from
it and caches nothing. The ``*_async`` forms run the work in the injected executor.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import math
import secrets
import string
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from xkcdpass import xkcd_password

from services.errors import ValidationFailed
from services.password_policy import (
    ADVICE,
    COMMON_PASSWORDS,
    MAX_LENGTH,
    contains_personal_info,
    context_tokens,
    estimate_strength,
    find_vulnerabilities,
    is_common_password,
)

log = logging.getLogger(__name__)

STYLES = ("random", "passphrase", "pin")
RANDOM_LENGTH = (8, 128, 20)  # min, max, default
PIN_LENGTH = (4, 128, 6)
WORDS = (3, 12, 6)
PASSPHRASE_SEPARATOR = "-"
# Four classes; a random password holds at least one character of each (old sites demand it).
RANDOM_CLASSES = (
    string.ascii_lowercase,
    string.ascii_uppercase,
    string.digits,
    string.punctuation,
)
RANDOM_ALPHABET = "".join(RANDOM_CLASSES)

# (entropy bits, security score): piecewise linear, so the score grows with the estimate.
# 26.6 and 33.2 bits are zxcvbn's score-3 and score-4 thresholds (1e8 and 1e10 guesses).
_SCORE_KNOTS = ((0.0, 0.0), (10.0, 8.0), (20.0, 20.0), (26.6, 35.0), (33.2, 50.0),
                (50.0, 65.0), (64.0, 80.0), (80.0, 90.0), (128.0, 100.0))  # fmt: skip
_STRENGTH_FLOORS = ((80, "very_strong"), (50, "strong"), (35, "fair"), (20, "weak"))
# Guesses per second of the three attack scenarios (zxcvbn's figures).
_ATTACK_RATES = {
    "online_throttled": 100 / 3600,
    "offline_slow_hash": 1e4,
    "offline_fast_hash": 1e10,
}
_TIME_UNITS = (("year", 31_536_000), ("month", 2_628_000), ("day", 86_400), ("hour", 3_600),
               ("minute", 60), ("second", 1))  # fmt: skip
_CONTEXT_VALUES = 64

_LONGER_ADVICE = (
    "Add another unrelated word or two: each random word multiplies the guesses needed by "
    "thousands."
)
_GENERAL_ADVICE = "Use a password manager to keep a different password for every account."


def load_wordlist() -> list[str]:
    """Return xkcdpass's default word list (EFF long list), deduplicated and sorted."""
    path = xkcd_password.locate_wordfile()
    words = xkcd_password.generate_wordlist(wordfile=path, min_length=1, max_length=64)
    return sorted({w.strip().lower() for w in words if w.strip().isalpha()})


class PasswordService:
    """Analyse the strength of passwords and generate new ones from a CSPRNG."""

    def __init__(self, executor: Executor, *, wordlist: Sequence[str] | None = None) -> None:
        self._executor = executor
        words = sorted(set(wordlist)) if wordlist is not None else load_wordlist()
        if len(words) < 1024:
            raise ValueError("the passphrase word list needs at least 1,024 distinct words")
        self._words: tuple[str, ...] = tuple(words)
        digit_entries = (w for w in COMMON_PASSWORDS if w.isascii() and w.isdigit())
        self._common_pins = frozenset(digit_entries)

    def __repr__(self) -> str:
        return f"PasswordService(words={len(self._words)})"

    # -- analysis -----------------------------------------------------------------------------

    def analyze(self, password: str, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Analyse *password* (1-1024 characters) against optional personal *context*.

        Returns ``security_score``, ``strength``, ``entropy_bits``, ``crack_time``,
        ``vulnerabilities``, ``recommendations`` and ``breached`` as in API.md.
        Raises :class:`ValidationFailed` for an empty or over-long password or a bad context.
        """
        _check_password(password)
        tokens = context_tokens(_context_strings(context))
        estimate = estimate_strength(password, tokens)
        breached = is_common_password(password)
        personal = contains_personal_info(password, tokens)
        keys = find_vulnerabilities(password, estimate, breached=breached, personal=personal)
        bits = estimate.entropy_bits
        score = _security_score(bits)
        if breached:
            score = min(score, 5)
        elif "too_short" in keys:
            score = min(score, 34)
        return {
            "security_score": score,
            "strength": _strength(score),
            "entropy_bits": round(bits, 2),
            "crack_time": {
                name: _human_duration(estimate.guesses_log10 - math.log10(rate))
                for name, rate in _ATTACK_RATES.items()
            },
            "vulnerabilities": [ADVICE[k][0] for k in keys],
            "recommendations": _recommendations(keys, score),
            "breached": breached,
        }

    async def analyze_async(
        self, password: str, context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """:meth:`analyze` run in the executor."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(self.analyze, password, context)
        )

    # -- generation ---------------------------------------------------------------------------

    def draw(self, style: str = "random", length: int | None = None, words: int = WORDS[2]) -> str:
        """Return one new password of *style* (no analysis); arguments as :meth:`generate`."""
        style, length, words = _check_generate_args(style, length, words)
        if style == "random":
            return self._draw_random(length)
        if style == "pin":
            return self._draw_pin(length)
        return PASSPHRASE_SEPARATOR.join(secrets.choice(self._words) for _ in range(words))

    def generate(
        self,
        style: str = "random",
        length: int | None = None,
        words: int = WORDS[2],
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Generate a password with :mod:`secrets`, its analysis and two alternatives.

        ``random``: *length* 8-128 (default 20) characters from the 94 printable ASCII
        characters, at least one lower-case letter, upper-case letter, digit and symbol.
        ``passphrase``: *words* 3-12 (default 6) words from the EFF long list joined by ``-``;
        *length* is ignored. ``pin``: *length* 4-128 digits (default 6), never one of the
        common passwords. ``entropy_bits`` is log2 of the size of the generator's space.
        Raises :class:`ValidationFailed` with field errors for out-of-range arguments.
        """
        style, length, words = _check_generate_args(style, length, words)
        password = self.draw(style, length, words)
        alternatives = [self.draw(style, length, words) for _ in range(2)]
        return {
            "password": password,
            "style": style,
            "entropy_bits": round(self._space_bits(style, length, words), 2),
            "memorability_score": _memorability(style, length, words),
            "security_analysis": self.analyze(password, context),
            "alternatives": alternatives,
        }

    async def generate_async(
        self,
        style: str = "random",
        length: int | None = None,
        words: int = WORDS[2],
        context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """:meth:`generate` run in the executor."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self.generate, style, length, words, context)
        return await loop.run_in_executor(self._executor, call)

    def _draw_random(self, length: int) -> str:
        while True:  # rejection sampling keeps the draw uniform over the valid strings
            chars = [secrets.choice(RANDOM_ALPHABET) for _ in range(length)]
            if all(any(c in cls for c in chars) for cls in RANDOM_CLASSES):
                return "".join(chars)

    def _draw_pin(self, length: int) -> str:
        while True:
            pin = "".join(secrets.choice(string.digits) for _ in range(length))
            if pin not in self._common_pins:
                return pin

    def _space_bits(self, style: str, length: int, words: int) -> float:
        if style == "passphrase":
            return words * math.log2(len(self._words))
        if style == "pin":
            excluded = sum(1 for p in self._common_pins if len(p) == length)
            return math.log2(10**length - excluded)
        return math.log2(_random_space(length))


def _random_space(length: int) -> int:
    """Strings of *length* over the alphabet using every class (inclusion-exclusion)."""
    sizes = [len(c) for c in RANDOM_CLASSES]
    total = 0
    for r in range(len(sizes) + 1):
        for missing in itertools.combinations(sizes, r):
            total += (-1) ** r * (len(RANDOM_ALPHABET) - sum(missing)) ** length
    return total


def _memorability(style: str, length: int, words: int) -> int:
    if style == "passphrase":
        return max(30, 100 - 5 * words)
    if style == "pin":
        return max(10, 100 - 5 * length)
    return max(5, round(50 - 1.75 * length))


def _check_password(password: Any) -> None:
    if not isinstance(password, str):
        raise ValidationFailed("Invalid password.", errors={"password": ["Not a valid string."]})
    if not password:
        raise ValidationFailed("Invalid password.", errors={"password": ["Must not be empty."]})
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(
            "Invalid password.",
            errors={"password": [f"Must be at most {MAX_LENGTH} characters."]},
        )


def _check_int(
    value: Any, name: str, bounds: tuple[int, int, int], errors: dict[str, list[str]]
) -> int:
    low, high, default = bounds
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = [f"Must be an integer between {low} and {high}."]
        return default
    return value


def _check_generate_args(style: Any, length: Any, words: Any) -> tuple[str, int, int]:
    errors: dict[str, list[str]] = {}
    if style not in STYLES:
        errors["style"] = [f"Must be one of: {', '.join(STYLES)}."]
    bounds = PIN_LENGTH if style == "pin" else RANDOM_LENGTH
    checked_length = _check_int(length, "length", bounds, errors)
    checked_words = _check_int(words, "words", WORDS, errors)
    if errors:
        raise ValidationFailed("Invalid generation parameters.", errors=errors)
    return str(style), checked_length, checked_words


def _context_strings(context: Mapping[str, Any] | None) -> list[str]:
    """Strings (and integers) among the context's values, up to three containers deep."""
    if context is None:
        return []
    if not isinstance(context, Mapping):
        raise ValidationFailed("Invalid context.", errors={"context": ["Must be an object."]})
    found: list[str] = []

    def visit(value: Any, depth: int) -> None:
        if len(found) >= _CONTEXT_VALUES:
            return
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            found.append(str(value))
        elif depth < 3 and isinstance(value, Mapping):
            for item in list(value.values())[:_CONTEXT_VALUES]:
                visit(item, depth + 1)
        elif depth < 3 and isinstance(value, list | tuple):
            for item in value[:_CONTEXT_VALUES]:
                visit(item, depth + 1)

    visit(context, 0)
    return found


def _recommendations(keys: Sequence[str], score: int) -> list[str]:
    advice = [ADVICE[k][1] for k in keys]
    if score < _STRENGTH_FLOORS[1][0] and "guessable" not in keys:
        advice.append(_LONGER_ADVICE)
    advice.append(_GENERAL_ADVICE)
    return advice


def _security_score(bits: float) -> int:
    for (x0, y0), (x1, y1) in itertools.pairwise(_SCORE_KNOTS):
        if bits <= x1:
            return round(y0 + (y1 - y0) * (max(bits, x0) - x0) / (x1 - x0))
    return 100


def _strength(score: int) -> str:
    for floor, name in _STRENGTH_FLOORS:
        if score >= floor:
            return name
    return "very_weak"


def _human_duration(seconds_log10: float) -> str:
    """Human text for 10**seconds_log10 seconds, without overflowing on huge values."""
    if seconds_log10 < 0:
        return "less than a second"
    if seconds_log10 >= math.log10(100 * _TIME_UNITS[0][1]):
        return "centuries"
    seconds = 10**seconds_log10
    for unit, size in _TIME_UNITS:
        if seconds >= size:
            count = round(seconds / size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a second"
