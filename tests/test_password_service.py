"""PasswordService: analysis (API.md "Passwords") and CSPRNG generation."""

from __future__ import annotations

import logging
import math
import secrets
import string
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from services.errors import ValidationFailed
from services.password_policy import COMMON_PASSWORDS
from services.passwords import RANDOM_ALPHABET, RANDOM_CLASSES, PasswordService

T = TypeVar("T")
ANALYSIS_FIELDS = {
    "security_score",
    "strength",
    "entropy_bits",
    "crack_time",
    "vulnerabilities",
    "recommendations",
    "breached",
}
STRENGTHS = ["very_weak", "weak", "fair", "strong", "very_strong"]
STRONG = "correct horse battery staple"
RANDOM_24 = "q7#Vd!x2Lm9&Rt4*Ze8^Wb1%"  # 24 characters drawn with secrets, frozen for the test


class RecordingExecutor(Executor):
    """Runs work on a real pool and remembers the threads it ran on."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.threads: set[int] = set()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        def run() -> T:
            self.threads.add(threading.get_ident())
            return fn(*args, **kwargs)

        return self.pool.submit(run)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@pytest.fixture(scope="module")
def executor() -> Iterator[RecordingExecutor]:
    pool = RecordingExecutor()
    yield pool
    pool.shutdown()


@pytest.fixture(scope="module")
def service(executor: RecordingExecutor) -> PasswordService:
    return PasswordService(executor)


def vulns(result: dict[str, Any]) -> str:
    return " | ".join(result["vulnerabilities"]).lower()


# -- analysis ---------------------------------------------------------------------------------


def test_analysis_has_exactly_the_api_fields(service: PasswordService) -> None:
    result = service.analyze(RANDOM_24)
    assert set(result) == ANALYSIS_FIELDS
    assert isinstance(result["security_score"], int) and 0 <= result["security_score"] <= 100
    assert result["strength"] in STRENGTHS
    assert isinstance(result["entropy_bits"], float)
    assert set(result["crack_time"]) == {
        "online_throttled",
        "offline_slow_hash",
        "offline_fast_hash",
    }
    assert all(isinstance(v, str) and v for v in result["crack_time"].values())
    assert isinstance(result["breached"], bool)
    assert all(isinstance(r, str) and r for r in result["recommendations"])


def test_scores_increase_with_strength(service: PasswordService) -> None:
    ladder = ["password", "Tr0ub4dor", STRONG, RANDOM_24]
    results = [service.analyze(p) for p in ladder]
    scores = [r["security_score"] for r in results]
    bits = [r["entropy_bits"] for r in results]
    levels = [STRENGTHS.index(r["strength"]) for r in results]
    assert scores == sorted(scores) and len(set(scores)) == 4, scores
    assert bits == sorted(bits), bits
    assert levels == sorted(levels), levels
    assert results[0]["strength"] == "very_weak"
    assert results[-1]["strength"] == "very_strong"


def test_crack_times(service: PasswordService) -> None:
    weak = service.analyze("password")["crack_time"]
    assert weak["offline_fast_hash"] == "less than a second"
    assert weak["online_throttled"] != "less than a second"
    strong = service.analyze(RANDOM_24)["crack_time"]
    assert set(strong.values()) == {"centuries"}


@pytest.mark.parametrize("password", ["password", "123456", "Password", "iloveyou", "qwerty"])
def test_breached(service: PasswordService, password: str) -> None:
    result = service.analyze(password)
    assert result["breached"] is True
    assert "breached" in vulns(result)
    assert result["strength"] == "very_weak" and result["security_score"] <= 5


def test_not_breached(service: PasswordService) -> None:
    assert service.analyze(RANDOM_24)["breached"] is False
    assert service.analyze(STRONG)["breached"] is False


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Harbor-zxcvbnm!", "keyboard pattern"),
        ("abcdefgh-Lantern", "sequence"),
        ("Lantern-98765432", "sequence"),
        ("Lantern-1987-05-12", "date"),
        ("Lantern1990", "date"),
        ("P@ssw0rd!", "l33t"),
        ("aaaaaaaaaaaa", "repeat"),
        ("Ab1$", "too short"),
        ("Summer2024!", "easy to guess"),
        ("Lantern-dlrowolleh", "backwards"),
    ],
)
def test_vulnerabilities(service: PasswordService, password: str, expected: str) -> None:
    result = service.analyze(password)
    assert expected in vulns(result), result["vulnerabilities"]
    assert len(result["recommendations"]) > len(result["vulnerabilities"])


def test_personal_context(service: PasswordService) -> None:
    context = {"email": "alicew@example.com", "display_name": "Bob Stone", "company": "Initech"}
    for password in ("Lantern-AliceW-Harbor", "stone-Lantern-Tulip-77", "Initech-Lantern-77"):
        result = service.analyze(password, context)
        assert "personal context" in vulns(result), (password, result["vulnerabilities"])
        without = service.analyze(password)
        assert "personal context" not in vulns(without)
    # Nested strings and lists in the context count too.
    result = service.analyze("Lantern-Tulip-Gizmo", {"profile": {"pets": ["Gizmo"]}})
    assert "personal context" in vulns(result)


def test_strong_passwords_have_no_vulnerabilities(service: PasswordService) -> None:
    for password in (STRONG, RANDOM_24):
        result = service.analyze(password)
        assert result["vulnerabilities"] == []
        assert result["recommendations"]  # general advice is always there


@pytest.mark.parametrize("length", [73, 200, 1024])
def test_over_72_characters_is_analysed(service: PasswordService, length: int) -> None:
    random_long = "".join(secrets.choice(string.ascii_letters + "äß€😀") for _ in range(length))
    result = service.analyze(random_long, {"email": "jane@example.com"})
    assert result["strength"] == "very_strong"
    head_bits = service.analyze(random_long[:72])["entropy_bits"]
    assert result["entropy_bits"] >= head_bits
    if length >= 200:
        assert result["entropy_bits"] > head_bits + 100
    repetitive = ("abc" * 400)[:length]
    result = service.analyze(repetitive)
    assert result["strength"] == "very_weak"
    assert "repeat" in vulns(result)


def test_personal_context_past_72_characters(service: PasswordService) -> None:
    password = "x9#Lm2!q" * 10 + "Zorblax"
    result = service.analyze(password, {"display_name": "Zorblax"})
    assert "personal context" in vulns(result)


@pytest.mark.parametrize(
    ("password", "context", "field"),
    [
        ("", None, "password"),
        ("a" * 1025, None, "password"),
        (12345678, None, "password"),
        ("fine password", "not a dict", "context"),
    ],
)
def test_analysis_validation(
    service: PasswordService, password: Any, context: Any, field: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.analyze(password, context)
    assert info.value.errors is not None and field in info.value.errors


# -- generation -------------------------------------------------------------------------------


def test_generate_random_default(service: PasswordService) -> None:
    result = service.generate()
    password = result["password"]
    assert result["style"] == "random"
    assert len(password) == 20 and set(password) <= set(RANDOM_ALPHABET)
    assert all(any(c in cls for c in password) for cls in RANDOM_CLASSES)
    assert result["entropy_bits"] >= 128
    assert result["entropy_bits"] <= 20 * math.log2(len(RANDOM_ALPHABET))
    assert set(result["security_analysis"]) == ANALYSIS_FIELDS
    assert result["security_analysis"]["strength"] == "very_strong"
    alternatives = result["alternatives"]
    assert len(alternatives) == 2 and len({password, *alternatives}) == 3
    assert all(len(a) == 20 for a in alternatives)
    assert 0 <= result["memorability_score"] <= 100


@pytest.mark.parametrize("length", [8, 64, 128])
def test_generate_random_lengths(service: PasswordService, length: int) -> None:
    result = service.generate("random", length=length)
    assert len(result["password"]) == length
    assert result["entropy_bits"] == pytest.approx(length * math.log2(94), rel=0.05)


def test_random_passwords_are_unique_over_10000_draws(service: PasswordService) -> None:
    drawn = [service.draw("random") for _ in range(10_000)]
    assert len(set(drawn)) == 10_000
    counts = Counter("".join(drawn))
    assert set(counts) == set(RANDOM_ALPHABET)  # every character is reachable


def test_generate_passphrase(service: PasswordService) -> None:
    for words in (3, 6, 12):
        result = service.generate("passphrase", words=words)
        parts = result["password"].split("-")
        assert len(parts) == words and all(p.isalpha() and p.islower() for p in parts)
        assert result["entropy_bits"] == pytest.approx(words * math.log2(7772), abs=0.05)
        assert all(len(a.split("-")) == words for a in result["alternatives"])
    default = service.generate("passphrase")
    assert len(default["password"].split("-")) == 6 and default["entropy_bits"] > 75
    assert default["memorability_score"] > service.generate("random")["memorability_score"]


def test_passphrases_are_unique_over_10000_draws(service: PasswordService) -> None:
    drawn = [service.draw("passphrase") for _ in range(10_000)]
    assert len(set(drawn)) == 10_000
    assert len({w for p in drawn for w in p.split("-")}) > 7000


def test_generate_pin(service: PasswordService) -> None:
    result = service.generate("pin")
    assert len(result["password"]) == 6 and result["password"].isdigit()
    assert 19.5 < result["entropy_bits"] < 6 * math.log2(10)  # common PINs are excluded
    assert service.generate("pin", length=4)["password"].isdigit()
    assert len(service.generate("pin", length=12)["password"]) == 12


def test_pins_are_uniform_and_never_common(service: PasswordService) -> None:
    drawn = [service.draw("pin", length=4) for _ in range(10_000)]
    assert not any(p in COMMON_PASSWORDS for p in drawn)
    counts = Counter("".join(drawn))
    assert set(counts) == set(string.digits)
    assert all(3400 < n < 4600 for n in counts.values()), counts  # 4,000 expected each
    assert len(set(drawn)) > 6000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"style": "emoji"}, "style"),
        ({"style": "random", "length": 7}, "length"),
        ({"style": "random", "length": 129}, "length"),
        ({"style": "random", "length": True}, "length"),
        ({"style": "random", "length": "20"}, "length"),
        ({"style": "pin", "length": 3}, "length"),
        ({"style": "passphrase", "words": 2}, "words"),
        ({"style": "passphrase", "words": 13}, "words"),
    ],
)
def test_generation_validation(
    service: PasswordService, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.generate(**kwargs)
    assert info.value.errors is not None and field in info.value.errors


def test_generated_analysis_uses_context(service: PasswordService) -> None:
    result = service.generate("passphrase", context={"email": "jane@example.com"})
    assert set(result["security_analysis"]) == ANALYSIS_FIELDS


def test_wordlist_must_be_large(executor: RecordingExecutor) -> None:
    with pytest.raises(ValueError):
        PasswordService(executor, wordlist=["only", "a", "few", "words"])


# -- async, privacy ---------------------------------------------------------------------------


async def test_async_forms_run_in_the_executor(
    service: PasswordService, executor: RecordingExecutor
) -> None:
    executor.threads.clear()
    analysis = await service.analyze_async(STRONG, {"email": "jane@example.com"})
    assert analysis == service.analyze(STRONG, {"email": "jane@example.com"})
    generated = await service.generate_async("passphrase", words=4)
    assert len(generated["password"].split("-")) == 4
    assert executor.threads and threading.get_ident() not in executor.threads
    with pytest.raises(ValidationFailed):
        await service.generate_async("pin", length=2)


async def test_password_is_never_logged(
    service: PasswordService, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Zorblax-Quenwick-1987"
    with caplog.at_level(logging.DEBUG):
        service.analyze(secret, {"display_name": "Zorblax"})
        await service.analyze_async(secret)
        generated = [service.generate(style)["password"] for style in ("random", "passphrase")]
        with pytest.raises(ValidationFailed):
            service.analyze(secret * 100)
    text = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for password in (secret, *generated):
        assert password not in text
