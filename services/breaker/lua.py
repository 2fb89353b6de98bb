"""Lua scripts of the shared circuit breaker.

Every script works on keys that share one hash tag ``{cb:<name>}`` (so they live on one
cluster slot) and reads the clock with ``TIME`` inside Redis, so host clocks never matter:

- ``KEYS[1]`` ``{cb:<name>}:s``      hash: state, gen, consec, opened_at, last_failures
- ``KEYS[2]`` ``{cb:<name>}:open``   string with a PX TTL; exists while the circuit is open
- ``KEYS[3]`` ``{cb:<name>}:probe``  the half-open probe lease (``SET NX PX`` with a token)
- ``KEYS[4]`` ``{cb:<name>}:w``      hash of sampling-window buckets ``s<idx>`` / ``f<idx>``

Each script returns ``{code, state, gen, retry_after_ms, now_ms, previous_state, extra...}``;
``previous_state`` is ``""`` unless the call made a transition (at most one per call).
``gen`` grows on every transition so late results of an earlier period are ignored.
"""

from __future__ import annotations

PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function load()
  local st = redis.call('HMGET', KEYS[1], 'state', 'gen', 'consec')
  return (st[1] or 'closed'), tonumber(st[2] or '0'), tonumber(st[3] or '0')
end
local function open_key_ttl()
  return redis.call('PTTL', KEYS[2])
end
-- lazily turn an expired OPEN into HALF_OPEN; returns state, gen, previous
local function settle(state, gen)
  if state == 'open' and open_key_ttl() <= 0 then
    gen = gen + 1
    redis.call('HSET', KEYS[1], 'state', 'half_open', 'gen', gen)
    return 'half_open', gen, 'open'
  end
  return state, gen, ''
end
local function window_counts(now, window_ms, prune)
  local bucket_ms = math.max(1000, math.floor(window_ms / 10))
  local cur = math.floor(now / bucket_ms)
  local first = cur - math.ceil(window_ms / bucket_ms) + 1
  local flat = redis.call('HGETALL', KEYS[4])
  local s, f = 0, 0
  local stale = {}
  for i = 1, #flat, 2 do
    local field = flat[i]
    local idx = tonumber(string.sub(field, 2))
    if idx < first then
      stale[#stale + 1] = field
    elseif string.sub(field, 1, 1) == 's' then
      s = s + tonumber(flat[i + 1])
    else
      f = f + tonumber(flat[i + 1])
    end
  end
  if prune and #stale > 0 then
    redis.call('HDEL', KEYS[4], unpack(stale))
  end
  return s, f, cur
end
local function go_open(gen, now, break_ms, failures)
  gen = gen + 1
  redis.call('HSET', KEYS[1], 'state', 'open', 'gen', gen, 'consec', 0,
             'opened_at', now, 'last_failures', failures)
  redis.call('SET', KEYS[2], '1', 'PX', break_ms)
  redis.call('DEL', KEYS[3], KEYS[4])
  return gen
end
local function go_closed(gen)
  gen = gen + 1
  redis.call('HSET', KEYS[1], 'state', 'closed', 'gen', gen, 'consec', 0,
             'opened_at', '', 'last_failures', 0)
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  return gen
end
"""

# ARGV: probe_lease_ms, token
ACQUIRE = (
    PRELUDE
    + """
local now = now_ms()
local state, gen = load()
if state == 'closed' then return {1, state, gen, 0, now, ''} end
if state == 'isolated' then return {0, state, gen, -1, now, ''} end
local prev
state, gen, prev = settle(state, gen)
if state == 'open' then return {0, state, gen, open_key_ttl(), now, prev} end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[1]) then
  return {2, state, gen, 0, now, prev}
end
return {0, state, gen, redis.call('PTTL', KEYS[3]), now, prev}
"""
)

# ARGV: ok (1|0), permit gen, probe token ('' for none), failure_ratio, window_ms,
#       minimum_throughput, consecutive_failures, break_ms
RECORD = (
    PRELUDE
    + """
local now = now_ms()
local state, gen, consec = load()
local ok = ARGV[1] == '1'
if tonumber(ARGV[2]) ~= gen then return {0, state, gen, 0, now, ''} end
if state == 'half_open' then
  if ARGV[3] == '' then return {0, state, gen, 0, now, ''} end
  local holder = redis.call('GET', KEYS[3])
  if holder and holder ~= ARGV[3] then return {0, state, gen, 0, now, ''} end
  if ok then
    return {1, 'closed', go_closed(gen), 0, now, state}
  end
  local break_ms = tonumber(ARGV[8])
  return {1, 'open', go_open(gen, now, break_ms, 1), break_ms, now, state}
end
if state ~= 'closed' then return {0, state, gen, 0, now, ''} end
local window_ms = tonumber(ARGV[5])
local bucket_ms = math.max(1000, math.floor(window_ms / 10))
local cur = math.floor(now / bucket_ms)
if ok then
  if redis.call('HINCRBY', KEYS[4], 's' .. cur, 1) == 1 then
    window_counts(now, window_ms, true)  -- a new bucket: drop the expired ones
  end
  redis.call('PEXPIRE', KEYS[4], window_ms * 2)
  if consec ~= 0 then redis.call('HSET', KEYS[1], 'consec', 0) end
  return {1, state, gen, 0, now, ''}
end
consec = consec + 1
redis.call('HINCRBY', KEYS[4], 'f' .. cur, 1)
redis.call('PEXPIRE', KEYS[4], window_ms * 2)
local s, f = window_counts(now, window_ms, true)
local total = s + f
if consec >= tonumber(ARGV[7])
   or (total >= tonumber(ARGV[6]) and f / total >= tonumber(ARGV[4])) then
  local break_ms = tonumber(ARGV[8])
  return {1, 'open', go_open(gen, now, break_ms, f), break_ms, now, state}
end
redis.call('HSET', KEYS[1], 'consec', consec)
return {1, state, gen, 0, now, ''}
"""
)

# ARGV: probe token
RELEASE = """
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
"""

ISOLATE = (
    PRELUDE
    + """
local now = now_ms()
local state, gen = load()
if state == 'isolated' then return {1, state, gen, -1, now, ''} end
gen = gen + 1
redis.call('HSET', KEYS[1], 'state', 'isolated', 'gen', gen, 'consec', 0, 'opened_at', now)
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return {1, 'isolated', gen, -1, now, state}
"""
)

RESET = (
    PRELUDE
    + """
local now = now_ms()
local state, gen = load()
gen = go_closed(gen)
if state == 'closed' then return {1, 'closed', gen, 0, now, ''} end
return {1, 'closed', gen, 0, now, state}
"""
)

# ARGV: window_ms.  extra: failures, opened_at_ms ('' if none)
STATE = (
    PRELUDE
    + """
local now = now_ms()
local state, gen = load()
local prev
state, gen, prev = settle(state, gen)
local failures
if state == 'closed' then
  local s, f = window_counts(now, tonumber(ARGV[1]), false)
  failures = f
else
  failures = tonumber(redis.call('HGET', KEYS[1], 'last_failures') or '0')
end
local opened = redis.call('HGET', KEYS[1], 'opened_at') or ''
local retry = 0
if state == 'open' then retry = open_key_ttl() end
return {1, state, gen, retry, now, prev, failures, opened}
"""
)
