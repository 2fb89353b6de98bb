"""Catalog role search for suggestions while a person types a target role.

The catalog is small (hundreds of roles) and held in memory, so a scan per keystroke
costs microseconds; no index or database round trip is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.career.catalog import Role


def _rank(role: Role, needle: str) -> int | None:
    """Lower is better; None when the role does not match at all."""
    title = role.title.casefold()
    if title == needle:
        return 0
    if title.startswith(needle):
        return 1
    words = title.replace("-", " ").replace("/", " ").split()
    if any(w.startswith(needle) for w in words):
        return 2
    if needle in title:
        return 3
    if needle in role.family.casefold() or needle in role.slug:
        return 4
    return None


def search_roles(roles: Iterable[Role], text: str, limit: int) -> list[dict[str, Any]]:
    """Roles whose title (then family or slug) matches *text*, best match first;
    with no text, the first *limit* roles alphabetically."""
    needle = " ".join(text.split()).casefold()
    ranked: list[tuple[int, str, Role]] = []
    for role in roles:
        rank = _rank(role, needle) if needle else 0
        if rank is not None:
            ranked.append((rank, role.title.casefold(), role))
    ranked.sort(key=lambda t: (t[0], t[1]))
    return [
        {
            "role_id": role.id,
            "title": role.title,
            "family": role.family,
            "experience_level": role.experience_level,
        }
        for _, _, role in ranked[:limit]
    ]
