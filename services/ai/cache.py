"""Redis cache of AI answers: fresh copy (TTL), stale copy (longer TTL), single-flight lock.

Keys are SHA-256 of canonical JSON, never Python's ``hash()`` (which differs per process).
A Redis failure is a cache miss, never an error for the caller.
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
from typing import Any

import orjson
from redis.exceptions import RedisError

from services.aio_compat import reraise_swallowed_cancel
from services.redis_clients import RedisClient

logger = logging.getLogger(__name__)


def normalise(value: Any) -> Any:
    """Canonical form of an input: NFKC strings with collapsed whitespace, recursively."""
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return normal_text(value)
    return value


def normal_text(text: str) -> str:
    """NFKC with whitespace runs collapsed to one space and the ends stripped.

    ``str.split()`` splits on exactly the characters ``\\s`` matches in a str pattern, and
    ASCII text is already NFKC, so the common case costs no normalisation pass."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


def cache_key(
    feature: str,
    prompt_version: str,
    model: str,
    user_data: Any,
    profile_fields: Any = None,
) -> str:
    """SHA-256 (hex) of the canonical JSON of everything that shapes the answer."""
    material = [feature, prompt_version, model, normalise(user_data), normalise(profile_fields)]
    try:
        text = orjson.dumps(material, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson refuses (integers beyond 64 bits)
        text = json.dumps(material, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(text).hexdigest()


class AICache:
    """Fresh and stale copies of AI answers plus a cross-process single-flight lock."""

    def __init__(
        self, redis: RedisClient, *, prefix: str = "ai:", stale_ttl_s: int = 24 * 3600
    ) -> None:
        self.redis = redis
        self._prefix = prefix
        self.stale_ttl_s = stale_ttl_s
        self._healthy = True

    def _fail(self, op: str, exc: Exception) -> None:
        if self._healthy:
            logger.warning(
                "AI cache %s failed (%s); treating as a miss", op, exc.__class__.__name__
            )
        self._healthy = False

    def _ok(self) -> None:
        if not self._healthy:
            logger.info("AI cache answers again")
        self._healthy = True

    async def _get(self, name: str) -> dict[str, Any] | None:
        try:
            raw = await self.redis.get(name)
            reraise_swallowed_cancel()
        except (RedisError, OSError) as exc:
            self._fail("get", exc)
            return None
        self._ok()
        if raw is None:
            return None
        try:
            value = orjson.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def get(self, key: str) -> dict[str, Any] | None:
        """The fresh cached answer, or None."""
        return await self._get(f"{self._prefix}c:{key}")

    async def get_stale(self, key: str) -> dict[str, Any] | None:
        """The last answer stored for ``key`` (kept ``stale_ttl_s``), or None."""
        return await self._get(f"{self._prefix}s:{key}")

    async def put(self, key: str, data: dict[str, Any], ttl_s: int) -> None:
        """Store ``data`` fresh for ``ttl_s`` seconds and stale for longer."""
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                if ttl_s > 0:
                    pipe.set(f"{self._prefix}c:{key}", raw, ex=ttl_s)
                pipe.set(f"{self._prefix}s:{key}", raw, ex=max(self.stale_ttl_s, ttl_s))
                await pipe.execute()
            reraise_swallowed_cancel()
        except (RedisError, OSError) as exc:
            self._fail("put", exc)
        else:
            self._ok()

    async def lock(self, key: str, token: str, ttl_ms: int) -> bool | None:
        """Take the single-flight lock of ``key``: True taken, False held by another,
        None if Redis is unreachable (the caller then goes ahead alone)."""
        try:
            taken = await self.redis.set(f"{self._prefix}l:{key}", token, nx=True, px=ttl_ms)
            reraise_swallowed_cancel()
        except (RedisError, OSError) as exc:
            self._fail("lock", exc)
            return None
        return bool(taken)

    async def locked(self, key: str) -> bool:
        """Whether some process holds the single-flight lock of ``key``."""
        try:
            held = bool(await self.redis.exists(f"{self._prefix}l:{key}"))
            reraise_swallowed_cancel()
            return held
        except (RedisError, OSError) as exc:
            self._fail("locked", exc)
            return False

    async def unlock(self, key: str, token: str) -> None:
        """Release the lock if ``token`` still holds it."""
        try:
            await self.redis.eval(_UNLOCK, 1, f"{self._prefix}l:{key}", token)
        except (RedisError, OSError) as exc:
            self._fail("unlock", exc)


_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
