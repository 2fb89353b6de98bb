"""The AI gateway: one entry point for every AI feature.

Provider chain (OpenAI-compatible provider, then the local engine), cache with
single-flight, per-user quota, deadline, stream time limits and a shared circuit breaker.
Provider output is untrusted: JSON answers must validate against the feature's schema.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import secrets
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import marshmallow

from services.ai.cache import AICache, cache_key
from services.ai.local import LocalEngine
from services.ai.prompts import build_messages, scrub
from services.ai.provider import OpenAIProvider
from services.ai.quota import AIQuota
from services.ai.stats import AIStats, MetricsCallback
from services.breaker.local import LocalCircuitBreaker
from services.breaker.shared import CircuitOpen, RedisCircuitBreaker
from services.errors import RateLimited

logger = logging.getLogger(__name__)

LOCK_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class AIResult:
    """A JSON answer and where it came from: ``"ai"``, ``"cache"`` or ``"local"``."""

    data: dict[str, Any]
    source: str
    stale: bool = False


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """One text delta. ``reset`` tells the client to discard what it got so far."""

    delta: str
    source: str
    reset: bool = False


def _outcome(exc: BaseException) -> str:
    name = exc.__class__.__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        return "timeout"
    if isinstance(exc, ValueError | marshmallow.ValidationError):
        return "invalid"
    return "error"


class AIGateway:
    """Every AI feature goes through here; see ARCHITECTURE.md "AI gateway"."""

    def __init__(
        self,
        *,
        provider: OpenAIProvider | None,
        local: LocalEngine,
        breaker: RedisCircuitBreaker | LocalCircuitBreaker,
        cache: AICache,
        quota: AIQuota | None,
        model_name: str,
        deadline_s: float = 20.0,
        first_token_timeout_s: float = 10.0,
        idle_timeout_s: float = 10.0,
        metrics: MetricsCallback | None = None,
    ) -> None:
        self.provider = provider
        self.local = local
        self.breaker = breaker
        self.cache = cache
        self.quota = quota
        self.model_name = model_name
        self.deadline_s = deadline_s
        self.first_token_timeout_s = first_token_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.stats = AIStats(metrics)
        self._flights: dict[str, asyncio.Future[AIResult]] = {}

    # -- JSON answers -----------------------------------------------------------------
    async def complete_json(
        self,
        feature: str,
        *,
        system: str,
        user_data: dict[str, Any],
        schema: marshmallow.Schema,
        prompt_version: str = "1",
        profile_fields: dict[str, Any] | None = None,
        user_id: str | None = None,
        cache_ttl_s: int = 1800,
    ) -> AIResult:
        """A validated JSON answer for ``feature``: from the cache, the provider, or the
        local engine. Raises ``RateLimited`` only when the user's AI quota is spent."""
        if self.provider is None:
            return await self._local_json(feature, user_data, "no_provider")
        payload = scrub({"input": user_data, "profile": profile_fields or {}})
        key = cache_key(feature, prompt_version, self.model_name, payload)
        cached = await self.cache.get(key)
        self.stats.cache(feature, cached is not None)
        if cached is not None:
            self.stats.call(feature, "cache", "hit")
            return AIResult(cached, "cache")
        request = _Request(feature, system, user_data, payload, schema, key, user_id, cache_ttl_s)
        while (flight := self._flights.get(key)) is not None:
            try:
                result = await asyncio.shield(flight)
            except asyncio.CancelledError:
                if flight.cancelled():  # the leader went away: try again
                    continue
                raise
            except RateLimited:  # the leader's quota, not ours
                return await self._produce(request)
            return AIResult(copy.deepcopy(result.data), result.source, result.stale)
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            result = await self._lead(request)
        except asyncio.CancelledError:
            flight.cancel()
            raise
        except BaseException as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved: no "never retrieved" noise without followers
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]

    async def _lead(self, req: _Request) -> AIResult:
        """Cross-process single flight: the first process calls, others wait for its answer."""
        token = secrets.token_hex(8)
        lock_ms = int((self.deadline_s + 1) * 1000)
        taken = await self.cache.lock(req.key, token, lock_ms)
        if taken is False:
            data = await self._wait_other(req.key)
            if data is not None:
                self.stats.call(req.feature, "cache", "single_flight")
                return AIResult(data, "cache")
            taken = await self.cache.lock(req.key, token, lock_ms)
        try:
            return await self._produce(req)
        finally:
            if taken:
                await self.cache.unlock(req.key, token)

    async def _wait_other(self, key: str) -> dict[str, Any] | None:
        """Wait (bounded by the deadline) for another process's answer to reach the cache."""
        until = time.monotonic() + self.deadline_s + 1
        while time.monotonic() < until:
            data = await self.cache.get(key)
            if data is not None or not await self.cache.locked(key):
                return data if data is not None else await self.cache.get(key)
            await asyncio.sleep(LOCK_POLL_S)
        return None

    async def _produce(self, req: _Request) -> AIResult:
        """Breaker → quota → provider (deadline, validation) → cache; else stale or local."""
        if self.provider is None:  # complete_json checked it; narrows the type
            raise RuntimeError("no AI provider configured")
        try:
            permit = await self.breaker.acquire()
        except CircuitOpen:
            stale = await self.cache.get_stale(req.key)
            if stale is not None:
                self.stats.call(req.feature, "cache", "stale")
                return AIResult(stale, "cache", stale=True)
            return await self._local_json(req.feature, req.user_data, "circuit_open")
        if self.quota is not None and req.user_id is not None:
            try:
                await self.quota.hit(req.user_id)
            except BaseException:
                await self.breaker.release(permit)
                raise
        messages = build_messages(req.system, req.payload, json_mode=True)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.deadline_s):
                raw = await self.provider.complete_json(messages, attempt_timeout_s=self.deadline_s)
                data = self._validate(raw, req.schema)
        except asyncio.CancelledError:
            await self.breaker.release(permit)
            raise
        except Exception as exc:  # any provider failure means fallback
            outcome = _outcome(exc)
            logger.warning(
                "AI %s failed after %.2fs (%s: %s); using the local engine",
                req.feature,
                time.monotonic() - started,
                outcome,
                exc.__class__.__name__,
            )
            await self.breaker.record_failure(permit)
            return await self._local_json(req.feature, req.user_data, outcome)
        await self.breaker.record_success(permit)
        await self.cache.put(req.key, data, req.cache_ttl_s)
        self.stats.call(req.feature, "ai", "ok")
        return AIResult(data, "ai")

    @staticmethod
    def _validate(
        raw: str, schema: marshmallow.Schema | type[marshmallow.Schema]
    ) -> dict[str, Any]:
        """Parse and validate untrusted model output; ValueError/ValidationError if bad."""
        parsed = json.loads(raw)
        if not isinstance(parsed, dict):
            raise ValueError("the model did not answer with a JSON object")
        instance = schema() if isinstance(schema, type) else schema
        loaded = instance.load(parsed)
        dumped = instance.dump(loaded)
        return dict(dumped)

    async def _local_json(self, feature: str, user_data: dict[str, Any], why: str) -> AIResult:
        data = await self.local.complete_json(feature, user_data)
        self.stats.call(feature, "local", why)
        return AIResult(data, "local")

    # -- streams ----------------------------------------------------------------------
    async def stream_text(
        self,
        feature: str,
        *,
        system: str,
        user_data: dict[str, Any],
        user_id: str | None = None,
    ) -> AsyncGenerator[StreamChunk, None]:
        """Text deltas from the provider, or from the local engine when it is missing,
        its circuit is open, or it fails. A failure after the first delta yields a chunk
        with ``reset=True`` and the local answer follows. Closing the iterator (or
        cancelling its consumer) closes the upstream HTTP response at once."""
        if self.provider is None:
            async for chunk in self._local_stream(feature, user_data, "no_provider"):
                yield chunk
            return
        try:
            permit = await self.breaker.acquire()
        except CircuitOpen:
            async for chunk in self._local_stream(feature, user_data, "circuit_open"):
                yield chunk
            return
        if self.quota is not None and user_id is not None:
            try:
                await self.quota.hit(user_id)
            except BaseException:
                await self.breaker.release(permit)
                raise
        messages = build_messages(system, scrub(user_data), json_mode=False)
        started = False
        try:
            async with aclosing(self._provider_deltas(messages)) as deltas:
                async for delta in deltas:
                    started = True
                    yield StreamChunk(delta, "ai")
        except (GeneratorExit, asyncio.CancelledError):
            await self.breaker.release(permit)
            raise
        except Exception as exc:  # any provider failure means fallback
            outcome = _outcome(exc)
            logger.warning(
                "AI stream %s failed (%s: %s, started=%s); using the local engine",
                feature,
                outcome,
                exc.__class__.__name__,
                started,
            )
            await self.breaker.record_failure(permit)
            if started:
                yield StreamChunk("", "local", reset=True)
            async for chunk in self._local_stream(feature, user_data, outcome):
                yield chunk
            return
        await self.breaker.record_success(permit)
        self.stats.call(feature, "ai", "ok")

    async def _provider_deltas(self, messages: list[dict[str, str]]) -> AsyncGenerator[str, None]:
        """Provider deltas under the first-token and idle-gap limits; always closes upstream."""
        if self.provider is None:  # stream_text checked it; narrows the type
            raise RuntimeError("no AI provider configured")
        first_by = time.monotonic() + self.first_token_timeout_s
        async with asyncio.timeout(self.first_token_timeout_s):
            stream = await self.provider.open_stream(
                messages, attempt_timeout_s=self.first_token_timeout_s
            )
        deltas = self.provider.deltas(stream)
        try:
            first = True
            while True:
                limit = first_by - time.monotonic() if first else self.idle_timeout_s
                try:
                    async with asyncio.timeout(max(0.0, limit)):
                        delta = await anext(deltas)
                except StopAsyncIteration:
                    return
                first = False
                yield delta
        finally:
            await deltas.aclose()
            await stream.close()

    async def _local_stream(
        self, feature: str, user_data: dict[str, Any], why: str
    ) -> AsyncGenerator[StreamChunk, None]:
        self.stats.call(feature, "local", why)
        async for delta in self.local.stream_text(feature, user_data):
            yield StreamChunk(delta, "local")


@dataclass(frozen=True, slots=True)
class _Request:
    feature: str
    system: str
    user_data: dict[str, Any]
    payload: dict[str, Any]
    schema: marshmallow.Schema
    key: str
    user_id: str | None
    cache_ttl_s: int
