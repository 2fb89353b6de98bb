"""Per-user quota of provider calls: a fixed window counted in Redis."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from services.aio_compat import reraise_swallowed_cancel
from services.errors import RateLimited
from services.redis_clients import RedisClient

logger = logging.getLogger(__name__)

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


class AIQuota:
    """At most ``calls`` provider calls per user per ``window_s`` (Redis clock, TTL based).

    If Redis is unreachable the quota is not enforced (logged): a Redis outage must not
    take the AI features down.
    """

    def __init__(
        self,
        redis: RedisClient,
        *,
        calls: int = 30,
        window_s: float = 60,
        prefix: str = "ai:quota:",
    ) -> None:
        self._redis = redis
        self.calls = calls
        self._window_ms = max(1, int(window_s * 1000))
        self._prefix = prefix
        self._script = redis.register_script(_HIT)

    async def hit(self, user_id: str) -> None:
        """Count one call for ``user_id``; ``RateLimited(retry_after=...)`` past the quota."""
        try:
            count, ttl_ms = await self._script(
                keys=[self._prefix + user_id], args=[self._window_ms]
            )
            reraise_swallowed_cancel()
        except (RedisError, OSError) as exc:
            logger.warning("AI quota not enforced: Redis failed (%s)", exc.__class__.__name__)
            return
        if int(count) > self.calls:
            raise RateLimited(
                "AI call quota exceeded; retry later.", retry_after=max(1, int(ttl_ms)) / 1000
            )
