"""Plain counters of the AI gateway (wired to Prometheus by the caller)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

MetricsCallback = Callable[[str, dict[str, str]], None]


class AIStats:
    """Counts calls by (feature, source, outcome) and cache hits/misses.

    ``metrics`` (optional) is called as ``metrics(event, labels)`` for every count, with
    event ``"ai_call"``, ``"cache_hit"`` or ``"cache_miss"``.
    """

    def __init__(self, metrics: MetricsCallback | None = None) -> None:
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.cache_hits = 0
        self.cache_misses = 0
        self._metrics = metrics

    def call(self, feature: str, source: str, outcome: str) -> None:
        """Count one answer (outcome: ok, stale, fallback, error, rejected, ...)."""
        self.calls[(feature, source, outcome)] += 1
        self._emit("ai_call", {"feature": feature, "source": source, "outcome": outcome})

    def cache(self, feature: str, hit: bool) -> None:
        """Count one cache lookup."""
        if hit:
            self.cache_hits += 1
        else:
            self.cache_misses += 1
        self._emit("cache_hit" if hit else "cache_miss", {"feature": feature})

    def _emit(self, event: str, labels: dict[str, str]) -> None:
        if self._metrics is not None:
            try:
                self._metrics(event, labels)
            except Exception:  # metrics must never break an answer
                logger.exception("AI metrics callback failed")

    def snapshot(self) -> dict[str, Any]:
        """JSON-friendly copy of the counters."""
        return {
            "calls": [
                {"feature": f, "source": s, "outcome": o, "count": n}
                for (f, s, o), n in sorted(self.calls.items())
            ],
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
        }
