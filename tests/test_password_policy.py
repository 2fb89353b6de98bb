"""Password policy (NIST SP 800-63B / OWASP ASVS 5) and the shared strength estimator."""

from __future__ import annotations

import secrets
import string
from concurrent.futures import ThreadPoolExecutor

import pytest
from zxcvbn import matching

from services.password_policy import (
    check_password_policy,
    context_tokens,
    estimate_strength,
    is_common_password,
)

STRONG = "correct horse battery staple"


def check(password: str, email: str | None = None, name: str | None = None) -> list[str]:
    return check_password_policy(password, email=email, display_name=name)


def test_strong_passphrase_is_accepted() -> None:
    assert check(STRONG, "jane.doe@example.com", "Jane Doe") == []
    assert check("Crystal-Harbor-Mango-9") == []


@pytest.mark.parametrize("password", ["", "Ab1$xyz", "😀🐍🚀", "Crystal-Harbor"])
def test_too_short(password: str) -> None:
    # NIST SP 800-63B-4: at least 15 characters for a single-factor password.
    reasons = check(password)
    assert any("Too short" in r and "at least 15" in r for r in reasons), reasons


def test_length_is_counted_in_code_points() -> None:
    emoji = "😀🐍🚀🌍🎉🔑💡📦🧭🪁🎲🧩🛶🪐🌵"  # 15 code points, 60 bytes
    assert not any("Too short" in r for r in check(emoji))
    assert not any("Too short" in r for r in check("abc" * 5))
    assert any("Too short" in r for r in check("é" * 14))


def test_too_long() -> None:
    reasons = check("a" * 1025)
    assert len(reasons) == 1 and "Too long" in reasons[0] and "1024" in reasons[0]


def test_no_composition_rules() -> None:
    # Lower-case letters and spaces only, long and unpredictable: accepted.
    assert check("tulip vacuum orbit pepper granite") == []


@pytest.mark.parametrize("password", ["password", "Password", "PASSWORD1", "iloveyou", "12345678"])
def test_common_passwords_are_refused(password: str) -> None:
    assert is_common_password(password)
    reasons = check(password)
    assert any("common" in r and "breached" in r for r in reasons), reasons


def test_email_local_part_is_refused_case_insensitively() -> None:
    reasons = check("Lantern-JANE.DOE-Voyage", email="jane.doe@example.com")
    assert any("e-mail" in r for r in reasons), reasons
    reasons = check("Lantern-JaneDoe-Voyage", email="jane.doe@example.com")
    assert any("e-mail" in r for r in reasons), reasons
    # The domain is not the local part.
    assert check("Lantern-example-Voyage-Tulip", email="jane.doe@example.com") == []


def test_display_name_is_refused() -> None:
    reasons = check("harbor-Wonderland-tulip", name="Alice Wonderland")
    assert any("display name" in r for r in reasons), reasons


def test_short_personal_parts_are_ignored() -> None:
    # "al" (2 characters) occurs in "Crystal" but is too short to count.
    assert check("Crystal-Harbor-Mango-9", email="al@example.com", name="Al") == []


@pytest.mark.parametrize(
    "password", ["Summer2024!", "qazwsxedcrfv9", "Monkey1987!", "aaaaaaaaaaaaaaa"]
)
def test_guessable_passwords_are_refused(password: str) -> None:
    assert not is_common_password(password)
    assert estimate_strength(password).score < 3
    reasons = check(password)
    assert any("Too easy to guess" in r for r in reasons), reasons


def test_every_reason_says_how_to_do_better() -> None:
    reasons = check("alice1", email="alice@example.com")
    assert len(reasons) >= 2
    advice = ("use", "choose", "leave out", "add")
    for reason in reasons:
        assert any(word in reason.lower() for word in advice), reason


@pytest.mark.parametrize("length", [73, 100, 500, 1024])
def test_long_passwords_never_raise(length: int) -> None:
    alphabet = string.ascii_letters + string.digits + "äöü€"
    password = "".join(secrets.choice(alphabet) for _ in range(length))
    assert check(password, "jane@example.com", "Jane") == []


def test_long_repetitive_password_is_refused() -> None:
    reasons = check("password" * 128)  # 1024 characters
    assert any("Too easy to guess" in r for r in reasons), reasons


def test_estimate_adds_entropy_past_72_characters() -> None:
    head = "".join(secrets.choice(string.ascii_lowercase) for _ in range(72))
    tail = "".join(secrets.choice(string.ascii_letters) for _ in range(100))
    short, longer = estimate_strength(head), estimate_strength(head + tail)
    assert longer.analysed_chars == 72 and longer.tail_bits > 300
    assert longer.entropy_bits > short.entropy_bits + 300
    # A tail that only repeats what came before adds (almost) nothing.
    repeated = estimate_strength(head + head + head)
    assert repeated.entropy_bits < short.entropy_bits + 10
    assert estimate_strength("a" * 1024).score == 0


def test_context_tokens() -> None:
    tokens = context_tokens(["Ann.Lee@acme.io", "Ann Lee", "xy"])
    assert {"ann.lee", "annlee", "ann", "lee", "acme", "ann lee"} <= set(tokens)
    assert "io" not in tokens and "xy" not in tokens


def test_estimator_is_thread_safe_with_different_user_inputs() -> None:
    """zxcvbn() keeps user_inputs in a module global; the estimator must not."""
    cases = [("Zorblax-tulip-Quenwick", ["zorblax"]), ("Quenwick-tulip-Zorblax", ["quenwick"])]

    def personal_tokens(i: int) -> set[str]:
        password, inputs = cases[i % 2]
        estimate = estimate_strength(password, inputs)
        return {
            m["matched_word"] for m in estimate.matches if m.get("dictionary_name") == "user_inputs"
        }

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(personal_tokens, range(400)))
    for i, found in enumerate(results):
        assert found == set(cases[i % 2][1]), (i, found)
    assert matching.RANKED_DICTIONARIES["user_inputs"] == {}
