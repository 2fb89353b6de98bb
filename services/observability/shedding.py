"""Load shedding: while the event loop lags past a ceiling, refuse new work that would make
it worse — new SSE streams and WebSockets, AI-heavy requests, chat turns — with 503 +
``Retry-After`` (problem details), and keep serving everything else.

The LoadShedder listens to the loop-lag monitor's samples. It starts shedding on a sample
over ``config.monitor.shed_lag_ms`` and stops, with hysteresis, only once the lag has stayed
under half the ceiling for ``shed_recover_s`` (a run of consecutive samples), so it does not
flap around the ceiling. Which routes are shed, and the check on a request, live at the
edge (``handlers/shedding.py``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from services.errors import Unavailable

log = logging.getLogger(__name__)


RESUME_FRACTION = 0.5  # shedding ends once the lag is under half the ceiling


class LoadShedder:
    """Decides, from loop-lag samples, whether new heavy work is refused."""

    def __init__(
        self,
        *,
        ceiling_ms: float,
        recover_samples: int,
        retry_after_s: float = 2.0,
        on_shed: Callable[[str], None] | None = None,
    ) -> None:
        self._ceiling_ms = ceiling_ms
        self._resume_ms = ceiling_ms * RESUME_FRACTION
        self._recover_samples = max(1, recover_samples)
        self._retry_after_s = retry_after_s
        self._on_shed = on_shed
        self._calm = 0
        self.active = False
        self.episodes = 0
        self.shed: dict[str, int] = {}

    @classmethod
    def for_monitor(
        cls,
        *,
        ceiling_ms: float,
        recover_s: float,
        interval_s: float,
        on_shed: Callable[[str], None] | None = None,
    ) -> LoadShedder:
        """Recovery expressed in time, for a monitor sampling every ``interval_s``."""
        samples = math.ceil(recover_s / interval_s - 1e-9)
        return cls(
            ceiling_ms=ceiling_ms,
            recover_samples=samples,
            retry_after_s=max(1.0, 2 * recover_s),
            on_shed=on_shed,
        )

    def observe(self, lag_ms: float) -> None:
        """A loop-lag monitor listener: one sample."""
        if lag_ms > self._ceiling_ms:
            self._calm = 0
            if not self.active:
                self.active = True
                self.episodes += 1
                log.warning(
                    "loop lag %.0f ms over the %.0f ms ceiling: shedding new streams and AI work",
                    lag_ms,
                    self._ceiling_ms,
                    extra={"loop_lag_ms": round(lag_ms, 1)},
                )
            return
        if not self.active:
            return
        self._calm = self._calm + 1 if lag_ms < self._resume_ms else 0
        if self._calm >= self._recover_samples:
            self.active = False
            self._calm = 0
            log.warning("loop lag recovered: shedding stopped (refused so far: %s)", self.shed)

    def check(self, kind: str) -> None:
        """Raise ``Unavailable`` (503 + Retry-After) while shedding; count the refusal."""
        if not self.active:
            return
        self.shed[kind] = self.shed.get(kind, 0) + 1
        if self._on_shed is not None:
            self._on_shed(kind)
        raise Unavailable(
            "The server is overloaded; retry shortly.", retry_after=self._retry_after_s
        )
