"""The current time, as every module writes it: timezone-aware UTC, ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC (aware)."""
    return datetime.now(UTC)


def now_iso() -> str:
    """Now as an ISO 8601 string with its UTC offset (``2026-01-01T12:00:00.123+00:00``)."""
    return datetime.now(UTC).isoformat()
