"""Admin metrics history: the last hour of system snapshots and process starts, in Redis.

Each process adds its snapshot every second to a sorted set kept for 15 minutes (score =
time in ms), and a 10-second summary of its own (worst lag, mean rate) to one kept for an
hour; process starts go to a third. Every key is trimmed on write, so memory stays
bounded (~150 bytes × (900 + 360) samples × processes). Reading the hour touches 360 rows
per process, not 3,600: bucketing 28,800 one-second rows (8 processes) took 0.3–0.8 s of
CPU here, which must not run on the event loop nor be needed at all. Reads bucket the
rows in a worker thread; an empty bucket stays empty, so the chart draws a gap where no
process reported instead of a straight line across an outage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# One hash tag: the two keys live in the same Redis Cluster slot.
SAMPLES_KEY = "{system}:history"  # one row per process per second, 15 minutes
SUMMARY_KEY = "{system}:history:10s"  # one row per process per 10 s, one hour
STARTS_KEY = "{system}:starts"
RETENTION_S = 3600
FINE_RETENTION_S = 900
SUMMARY_MS = 10_000
RANGES_S = {"15m": 900, "1h": 3600}
MAX_POINTS = 360


def _iso(ms: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{int(ms % 1000):03d}+00:00"
    )


def figures(snapshot: Mapping[str, Any], pid: int, now_ms: int) -> dict[str, Any]:
    """The few figures the history chart and tiles need, keyed by process."""
    lag = snapshot.get("loop_lag_ms") or {}
    conns = snapshot.get("connections") or {}
    tasks = snapshot.get("tasks") or {}
    return {
        "t": now_ms,
        "pid": pid,
        "lag": round(float(lag.get("p99", 0.0)), 2),
        "rps": round(float(snapshot.get("requests_per_s", 0.0)), 2),
        "conn": int(conns.get("sse", 0)) + int(conns.get("ws", 0)),
        "queued": int(tasks.get("queued", 0)),
        "running": int(tasks.get("running", 0)),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One process's seconds merged into one row: worst lag, mean rate, most connections,
    latest task counts, stamped at the last second."""
    last = rows[-1]
    return {
        **last,
        "lag": max(r["lag"] for r in rows),
        "rps": round(sum(r["rps"] for r in rows) / len(rows), 2),
        "conn": max(r["conn"] for r in rows),
    }


class MetricsHistory:
    """Writes this process's samples and start; reads a bucketed range for admins."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        pid: int,
        host: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._pid = pid
        self._host = host
        self._pending: list[dict[str, Any]] = []  # this 10 s slot's seconds

    async def mark_start(self) -> None:
        """Record that this process started (a restart marker on the chart)."""
        now = int(self._clock() * 1000)
        member = orjson.dumps({"at": now, "pid": self._pid, "host": self._host})
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(STARTS_KEY, {member: now})
            pipe.zremrangebyscore(STARTS_KEY, "-inf", now - RETENTION_S * 1000)
            pipe.expire(STARTS_KEY, RETENTION_S * 2)
            await pipe.execute()

    async def record(self, snapshot: Mapping[str, Any]) -> None:
        """Add one snapshot of this process (and, once per 10 s, its summary); drop what
        is older than each key's window."""
        now = int(self._clock() * 1000)
        row = figures(snapshot, self._pid, now)
        summary = None
        if self._pending and self._pending[-1]["t"] // SUMMARY_MS != now // SUMMARY_MS:
            summary = summarise(self._pending)
            self._pending = []
        self._pending.append(row)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(SAMPLES_KEY, {orjson.dumps(row): now})
            pipe.zremrangebyscore(SAMPLES_KEY, "-inf", now - FINE_RETENTION_S * 1000)
            pipe.expire(SAMPLES_KEY, FINE_RETENTION_S * 2)
            if summary is not None:
                pipe.zadd(SUMMARY_KEY, {orjson.dumps(summary): summary["t"]})
                pipe.zremrangebyscore(SUMMARY_KEY, "-inf", now - RETENTION_S * 1000)
                pipe.expire(SUMMARY_KEY, RETENTION_S * 2)
            await pipe.execute()

    async def read(self, range_key: str) -> dict[str, Any]:
        """``{range, range_s, bucket_s, from, to, samples: [...], restarts: [...]}``."""
        range_s = RANGES_S[range_key]
        now = int(self._clock() * 1000)
        start = now - range_s * 1000
        key = SAMPLES_KEY if range_s <= FINE_RETENTION_S else SUMMARY_KEY
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(key, start, "+inf")
            pipe.zrangebyscore(STARTS_KEY, start, "+inf")
            raw_samples, raw_starts = await pipe.execute()
        bucket_ms = max(1000, range_s * 1000 // MAX_POINTS)
        samples = await asyncio.to_thread(_parse_and_bucket, raw_samples, start, bucket_ms)
        restarts = []
        for raw in raw_starts:
            s = orjson.loads(raw)
            restarts.append({"at": _iso(s["at"]), "pid": s["pid"], "host": s["host"]})
        return {
            "range": range_key,
            "range_s": range_s,
            "bucket_s": bucket_ms / 1000,
            "from": _iso(start),
            "to": _iso(now),
            "samples": samples,
            "restarts": restarts,
        }


def _parse_and_bucket(raw: list[bytes], start_ms: int, bucket_ms: int) -> list[dict[str, Any]]:
    return bucketed((orjson.loads(r) for r in raw), start_ms, bucket_ms)


def bucketed(rows: Any, start_ms: int, bucket_ms: int) -> list[dict[str, Any]]:
    """Merge samples into fixed buckets: lag is the worst p99 seen, requests/s and
    connections add up across processes, task counts (global already) take the latest.
    Buckets with no sample are omitted: that is a gap, not a zero."""
    buckets: dict[int, dict[str, Any]] = {}
    for row in rows:
        idx = (int(row["t"]) - start_ms) // bucket_ms
        b = buckets.setdefault(idx, {"lag": 0.0, "per_pid": {}, "t": 0, "queued": 0, "running": 0})
        b["lag"] = max(b["lag"], float(row["lag"]))
        sums = b["per_pid"].setdefault(row["pid"], [0.0, 0, 0])
        sums[0] += float(row["rps"])
        sums[1] = max(sums[1], int(row["conn"]))
        sums[2] += 1
        if row["t"] >= b["t"]:
            b.update(t=row["t"], queued=int(row["queued"]), running=int(row["running"]))
    out = []
    for idx in sorted(buckets):
        b = buckets[idx]
        per_pid = b["per_pid"].values()
        out.append(
            {
                "at": _iso(start_ms + idx * bucket_ms + bucket_ms / 2),
                "lag_p99_ms": round(b["lag"], 2),
                "requests_per_s": round(sum(s[0] / s[2] for s in per_pid), 2),
                "connections": sum(s[1] for s in per_pid),
                "tasks_queued": b["queued"],
                "tasks_running": b["running"],
            }
        )
    return out


async def best_effort(coro: Any, what: str) -> None:
    """Await a history write; a Redis problem costs one sample, never the caller."""
    try:
        await coro
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("metrics history: could not %s (%s)", what, exc.__class__.__name__)
