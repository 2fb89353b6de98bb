"""Login throttling and a fixed-window rate limiter, shared across processes through Redis.

Both fail closed, not open: when Redis cannot be reached they keep counting in the process
(and say so once in the log), so an outage of Redis never switches brute-force protection off.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.errors import RateLimited

log = logging.getLogger(__name__)

PREFIX = "fluentpro:throttle:"

# KEYS[1] failure counter, KEYS[2] block marker; ARGV: threshold, base_ms, max_ms, window_ms.
# Returns the block duration in ms (0 while under the threshold).
_FAIL_LUA = """
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local threshold = tonumber(ARGV[1])
if n < threshold then return 0 end
local delay = tonumber(ARGV[2]) * (2 ^ (n - threshold))
if delay > tonumber(ARGV[3]) then delay = tonumber(ARGV[3]) end
delay = math.floor(delay)
if delay < 1 then delay = 1 end
redis.call('SET', KEYS[2], '1', 'PX', delay)
return delay
"""

# KEYS[1] window counter; ARGV: window_ms. Returns {count, pttl}.
_HIT_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


ATTEMPT_LEASE_MS = 10_000
# KEYS: the block markers. Returns the longest remaining block in ms (0 when none is set).
_BLOCKED_LUA = """
local wait = 0
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl > wait then wait = ttl end
end
return wait
"""
# KEYS[1] the attempt lease, KEYS[2..] the block markers; ARGV: token, lease_ms.
# Returns {acquired (0/1), longest block in ms}: the lease is taken only when no block is set,
# so the check and the lease are one atomic step and one round trip.
_ACQUIRE_LUA = """
local wait = 0
for i = 2, #KEYS do
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl > wait then wait = ttl end
end
if wait > 0 then return {0, wait} end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, 0} end
return {0, 0}
"""
# Delete the lease only if it is still ours (it may have expired and been taken).
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _account(email: str) -> str:
    return email.strip().lower()


def _throttled(wait: float) -> RateLimited:
    return RateLimited(
        "Too many failed sign-in attempts; wait before trying again.", retry_after=wait
    )


# Set by LoginThrottle.attempt while its lease is held: (throttle, account, address, block
# markers, known address) whose markers Redis checked atomically with taking the lease.
_Checked = tuple[object, str, str, list[str], bool]
_CHECKED_AT_LEASE: contextvars.ContextVar[_Checked | None] = contextvars.ContextVar(
    "fluentpro_login_checked_at_lease", default=None
)


class _LocalCounters:
    """The in-process fallback: counters and block deadlines on the monotonic clock."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, expires_at)
        self._blocks: dict[str, float] = {}  # key -> blocked until

    def _prune(self, now: float) -> None:
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            self._blocks = {k: v for k, v in self._blocks.items() if v > now}

    def incr(self, key: str, window_s: float, *, sliding: bool) -> tuple[int, float]:
        now = time.monotonic()
        self._prune(now)
        count, expires = self._counts.get(key, (0, 0.0))
        if expires <= now:
            count, expires = 0, now + window_s
        if sliding:
            expires = now + window_s
        self._counts[key] = (count + 1, expires)
        return count + 1, expires - now

    def block(self, key: str, seconds: float) -> None:
        self._blocks[key] = time.monotonic() + seconds

    def blocked_for(self, key: str) -> float:
        return max(0.0, self._blocks.get(key, 0.0) - time.monotonic())

    def clear(self, *keys: str) -> None:
        for key in keys:
            self._counts.pop(key, None)
            self._blocks.pop(key, None)


class _RedisOrLocal:
    """Shared plumbing: run against Redis, fall back to the process on RedisError."""

    def __init__(self, redis: aioredis.Redis, name: str) -> None:
        self._redis = redis
        self._local = _LocalCounters()
        self._name = name
        self._warned = False

    def _fallback(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "%s: Redis unreachable (%s); counting in this process until it is back",
                self._name,
                exc.__class__.__name__,
            )


@dataclass(frozen=True)
class ThrottlePolicy:
    failures_before_throttle: int  # one account from one address
    address_failures_before_throttle: int  # one address, whatever the accounts
    base_s: float
    max_s: float
    # One account from addresses it never signed in from: a distributed guess.
    account_failures_before_throttle: int = 20
    known_address_ttl_s: int = 30 * 24 * 3600


class LoginThrottle(_RedisOrLocal):
    """Growing delays after repeated failed logins, per account and per client address.

    After ``failures_before_throttle`` failures for an e-mail (or the address threshold for
    one client address) further attempts are refused with 429 for ``base * 2**k`` seconds,
    capped at ``max_s``: a delay, never a permanent lock-out. The failure counters forget
    after a quiet period. A successful login clears the account's counter.
    """

    def __init__(self, redis: aioredis.Redis, policy: ThrottlePolicy) -> None:
        super().__init__(redis, "login throttle")
        self._policy = policy
        self._fail = redis.register_script(_FAIL_LUA)
        self._release = redis.register_script(_RELEASE_LUA)
        self._blocked = redis.register_script(_BLOCKED_LUA)
        self._acquire = redis.register_script(_ACQUIRE_LUA)
        self._busy: set[str] = set()  # attempt leases while Redis is unreachable
        self._known_skip_until = 0.0
        # Counters decay after a quiet period long enough to keep the longest delay meaningful.
        self._window_ms = int(max(policy.max_s * 4, 900.0) * 1000)

    @staticmethod
    def _keys(kind: str, value: str) -> tuple[str, str]:
        base = f"{PREFIX}login:{kind}:{_digest(value)}"
        return base + ":f", base + ":b"

    @staticmethod
    def _known_key(email: str) -> str:
        return f"{PREFIX}login:known:{_digest(_account(email))}"

    def _subjects(self, email: str, address: str, *, known: bool) -> list[tuple[str, str, int]]:
        """(counter, block marker, threshold) of every limit that applies to this attempt.

        The account's own block is keyed with the source address: a stranger's failed
        guesses hold the account only for the stranger, never for its owner signing in from
        elsewhere (security review 2026-12-07, finding 10: one guess per block period kept
        the victim out for up to 300 s). Guesses from addresses the account never signed in
        from also count per account, with a higher threshold, so spreading a guessing attack
        over many addresses still ends in a block — one the owner's known addresses skip.
        """
        p = self._policy
        account = _account(email)
        subjects = [
            (*self._keys("acct-addr", f"{account}\n{address}"), p.failures_before_throttle),
            (*self._keys("addr", address), p.address_failures_before_throttle),
        ]
        if not known:
            subjects.append((*self._keys("acct", account), p.account_failures_before_throttle))
        return subjects

    async def _known(self, email: str, address: str) -> bool:
        """Whether the account signed in successfully from *address* recently (False while
        Redis is unreachable: the stricter answer, asked again after a short pause)."""
        checked = _CHECKED_AT_LEASE.get()
        if checked is not None and checked[:3] == (self, _account(email), address):
            return checked[4]  # looked up when the lease was taken
        if time.monotonic() < self._known_skip_until:
            return False
        try:
            return bool(await self._redis.sismember(self._known_key(email), _digest(address)))
        except RedisError as exc:
            self._fallback(exc)
            self._known_skip_until = time.monotonic() + 1.0
            return False

    async def check(self, email: str, address: str) -> None:
        """Raise RateLimited (with the seconds to wait) while the account or address is held.

        Inside :meth:`attempt` for the same e-mail and address the answer is the one Redis
        gave when the lease was taken (in the same atomic script), so no second round trip.
        """
        checked = _CHECKED_AT_LEASE.get()
        if checked is not None and checked[:3] == (self, _account(email), address):
            blocks = checked[3]
            wait = 0.0  # a block set at lease time refused the attempt already
        else:
            known = await self._known(email, address)
            blocks = [block for _, block, _ in self._subjects(email, address, known=known)]
            try:
                wait = max(int(await self._blocked(keys=blocks)), 0) / 1000
            except RedisError as exc:
                self._fallback(exc)
                wait = 0.0
        wait = max([wait, *(self._local.blocked_for(key) for key in blocks)])
        if wait > 0:
            raise _throttled(wait)

    async def failed(self, email: str, address: str) -> None:
        """Record a failed attempt against every limit that applies to it."""
        p = self._policy
        known = await self._known(email, address)
        for counter, block, threshold in self._subjects(email, address, known=known):
            try:
                await self._fail(
                    keys=[counter, block],
                    args=[threshold, int(p.base_s * 1000), int(p.max_s * 1000), self._window_ms],
                )
            except RedisError as exc:
                self._fallback(exc)
                count, _ = self._local.incr(counter, self._window_ms / 1000, sliding=True)
                if count >= threshold:
                    delay = min(p.max_s, p.base_s * 2 ** (count - threshold))
                    self._local.block(block, delay)

    @contextlib.asynccontextmanager
    async def attempt(self, email: str, address: str) -> AsyncIterator[None]:
        """One password check at a time per account, across processes.

        Without this gate, concurrent guesses all pass ``check`` before any of them is
        counted by ``failed``; serialised, every guess sees the failures before it. A
        concurrent attempt gets 429 with Retry-After 1 and is not counted: its password was
        never checked (so a burst of guesses gets one guess at a time, and an integration
        logging in twice at once does not lock its own account). The lease
        expires on its own if the process dies mid-check.

        The lease is taken by one script that first looks at the block markers: a held
        account or address is refused (429 with its wait) without taking the lease, and a
        :meth:`check` inside the block reuses that answer instead of asking Redis again.
        """
        account = _account(email)
        key = f"{PREFIX}login:busy:{_digest(account)}"
        known = await self._known(email, address)
        blocks = [block for _, block, _ in self._subjects(email, address, known=known)]
        token = secrets.token_hex(8)
        wait = 0.0
        try:
            acquired_flag, wait_ms = await self._acquire(
                keys=[key, *blocks], args=[token, ATTEMPT_LEASE_MS]
            )
            acquired = bool(int(acquired_flag))
            wait = max(int(wait_ms), 0) / 1000
            local = False
        except RedisError as exc:
            self._fallback(exc)
            acquired = key not in self._busy
            local = True
        if wait > 0:
            raise _throttled(wait)
        if not acquired:
            raise RateLimited("Another sign-in for this account is in progress.", retry_after=1)
        if local:
            self._busy.add(key)
        checked = None if local else (self, account, address, blocks, known)
        marker = _CHECKED_AT_LEASE.set(checked)
        try:
            yield
        finally:
            _CHECKED_AT_LEASE.reset(marker)
            if local:
                self._busy.discard(key)
            else:
                with contextlib.suppress(RedisError):
                    await self._release(keys=[key], args=[token])

    async def succeeded(self, email: str, address: str) -> None:
        """Forget the failures of the account from this address and remember the address
        as the owner's (the address counter and strangers' guesses decay on their own)."""
        account = _account(email)
        counter, block = self._keys("acct-addr", f"{account}\n{address}")
        known = self._known_key(email)
        self._local.clear(counter, block)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(counter, block)
                pipe.sadd(known, _digest(address))
                pipe.expire(known, self._policy.known_address_ttl_s)
                await pipe.execute()
        except RedisError as exc:
            self._fallback(exc)


class RateLimiter(_RedisOrLocal):
    """A fixed-window counter: at most ``limit`` hits per ``window_s`` for one key."""

    def __init__(self, redis: aioredis.Redis) -> None:
        super().__init__(redis, "rate limiter")
        self._hit = redis.register_script(_HIT_LUA)

    async def hit(self, bucket: str, key: str, *, limit: int, window_s: float) -> None:
        """Count one request; raise RateLimited with Retry-After once over the limit."""
        name = f"{PREFIX}rate:{bucket}:{_digest(key)}"
        try:
            count, ttl_ms = await self._hit(keys=[name], args=[int(window_s * 1000)])
            count, remaining = int(count), int(ttl_ms) / 1000
        except RedisError as exc:
            self._fallback(exc)
            count, remaining = self._local.incr(name, window_s, sliding=False)
        if count > limit:
            raise RateLimited(
                f"Rate limit of {limit} requests per {window_s:g} s exceeded.",
                retry_after=remaining,
            )
