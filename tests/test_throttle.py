"""LoginThrottle against a real Redis: the lease and the block check are one atomic step."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from services.errors import RateLimited
from services.throttle import LoginThrottle, ThrottlePolicy

POLICY = ThrottlePolicy(
    failures_before_throttle=2, address_failures_before_throttle=100, base_s=5.0, max_s=60.0
)


async def test_attempt_refuses_a_held_account_without_taking_the_lease(
    redis: aioredis.Redis,
) -> None:
    throttle = LoginThrottle(redis, POLICY)
    email, address = "held@example.com", "192.0.2.7"
    for _ in range(2):
        await throttle.failed(email, address)
    with pytest.raises(RateLimited) as caught:
        async with throttle.attempt(email, address):
            pass
    assert caught.value.retry_after > 1  # the block's wait, not "another sign-in" (1 s)
    assert await redis.keys("{fluentpro:throttle:login:acct:*}:busy") == []


async def test_check_inside_attempt_needs_no_round_trip_and_the_lease_is_released(
    redis: aioredis.Redis,
) -> None:
    throttle = LoginThrottle(redis, POLICY)
    email, address = " Free@Example.com", "192.0.2.8"
    async with throttle.attempt(email, address):
        calls = 0
        original = throttle._blocked

        async def counting(*args: object, **kwargs: object) -> object:
            nonlocal calls
            calls += 1
            return await original(*args, **kwargs)

        throttle._blocked = counting  # type: ignore[method-assign]
        await throttle.check("free@example.com", address)
        await throttle.check("other@example.com", address)  # another account: asks Redis
        assert calls == 1
        with pytest.raises(RateLimited):  # one check at a time per account
            async with throttle.attempt(email, address):
                pass
    assert await redis.keys("{fluentpro:throttle:login:acct:*}:busy") == []
    await throttle.check(email, address)  # outside: a real check, nothing held
