"""The bus's Redis side: key names, the atomic publish script and the live message format.

One channel uses one Redis name: its stream ``fp:ev:<channel>`` holds the history, and a
shard channel of the *same name* carries the live path. A key and a shard channel of the
same name hash to the same cluster slot, so the publish script touches one slot and runs
unchanged on Redis Cluster (where ``SPUBLISH`` inside a script must stay in the script's
slot).
"""

from __future__ import annotations

import secrets

KEY_PREFIX = "fp:ev:"
EPOCH_FIELD = b"p"

# KEYS[1] the channel's stream (and shard channel); ARGV: event, data, maxlen, ttl, epoch.
# The epoch names one incarnation of the stream: kept in every entry (read back from the
# newest one, O(1)), so a stream that was lost and re-created (a Redis restart without
# persistence, a failover to a replica that missed writes) starts a new epoch and a
# reader that knew the old one can tell instead of silently skipping the lost events.
# XADD, EXPIRE and SPUBLISH run as one script: no reader ever sees a live event that the
# history lacks, nor the reverse.
PUBLISH_LUA = """
local key = KEYS[1]
local epoch = ARGV[5]
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
if last[1] then
  local f = last[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'p' then epoch = f[i + 1] break end
  end
end
local id = redis.call('XADD', key, 'MAXLEN', '~', ARGV[3], '*',
  'e', ARGV[1], 'd', ARGV[2], 'p', epoch)
redis.call('EXPIRE', key, ARGV[4])
redis.call('SPUBLISH', key, id .. '\\n' .. epoch .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return id
"""


def stream_key(channel: str) -> str:
    """The Redis name of a channel: its stream key and its shard channel."""
    return KEY_PREFIX + channel


def channel_of(name: bytes | str) -> str:
    """The channel of a stream key / shard channel name."""
    text = name.decode() if isinstance(name, bytes) else name
    return text[len(KEY_PREFIX) :]


def new_epoch() -> str:
    """A fresh epoch token (used only when the script creates a stream)."""
    return secrets.token_hex(6)


def split_live(payload: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """A live message → (id, epoch, event, data). Data is compact JSON (no raw newline)."""
    eid, epoch, event, data = payload.split(b"\n", 3)
    return eid, epoch, event, data
