"""The configuration tree: one frozen dataclass per config.yaml section.

The edge reads it (``request.app[CONFIG]``) and the composition root hands its values to
the services; ``server/config.py`` fills it from config.yaml and the environment. Each
field's metadata carries its validation (a marshmallow validator) and whether it is a
secret (never read from the file, only from the environment). Imports nothing of ours.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from marshmallow import validate

ENVIRONMENTS = ("development", "production")
_DSN_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A database/Redis URL (or libpq ``key=value`` string) with its password hidden."""
    if "://" not in url:
        return _DSN_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    query = _DSN_PASSWORD.sub(r"\1***", parts.query)
    return urlunsplit(parts._replace(query=query))


def _repr_redacted(section: Any) -> str:
    """A section's repr with the password of its ``url`` hidden and ``repr=False`` fields
    (secrets) left out."""
    values = {f.name: getattr(section, f.name) for f in dataclasses.fields(section) if f.repr}
    if "url" in values:
        values["url"] = redact_url(values["url"])
    shown = ", ".join(f"{name}={value!r}" for name, value in values.items())
    return f"{section.__class__.__name__}({shown})"


def _range(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"validate": validate.Range(min=lo, max=hi)}


def _one_of(*choices: str) -> dict[str, Any]:
    return {"validate": validate.OneOf(choices)}


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = field(default=8080, metadata=_range(0, 65535))
    workers: int = field(default=1, metadata=_range(1, 64))
    shutdown_grace_s: float = field(default=10.0, metadata=_range(0, 600))
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8080", "http://localhost:8080")
    body_limit_bytes: int = field(default=1024 * 1024, metadata=_range(1024))
    trust_forwarded_for: bool = False
    gc_freeze: bool = True  # freeze the start-up heap (off in tests: many apps per process)
    # Collector thresholds set with gc_freeze: young collections every N allocations (700 in
    # CPython), a full one considered every M middle ones (10): fewer full scans of the heap
    # thousands of open connections make (each one 100-250 ms at 5,000 connections).
    gc_young_threshold: int = field(default=7000, metadata=_range(100, 1_000_000))
    gc_full_every: int = field(default=100, metadata=_range(1, 10_000))
    event_loop: str = field(default="uvloop", metadata=_one_of("uvloop", "asyncio"))
    # FLUENTPRO_ENV=production refuses development defaults at start-up (config_safety).
    environment: str = field(default="development", metadata=_one_of(*ENVIRONMENTS))
    # /metrics: "local" answers loopback peers that came through no proxy (or anyone with
    # the bearer FLUENTPRO_METRICS_TOKEN when it is set); "token" requires the token;
    # "open" answers everyone.
    metrics_access: str = field(default="local", metadata=_one_of("local", "token", "open"))


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""  # empty: a server on 127.0.0.1:5432, else an embedded one under ./var/
    pool_min: int = field(default=1, metadata=_range(0, 100))
    pool_max: int = field(default=10, metadata=_range(1, 200))
    statement_timeout_ms: int = field(default=10_000, metadata=_range(100))
    # PostgreSQL ends a session left idle inside a transaction this long (a backstop behind
    # the write timeouts of streams that hold a transaction open).
    idle_in_transaction_timeout_ms: int = field(default=30_000, metadata=_range(1000))
    query_timeout_s: float = field(default=15.0, metadata=_range(0.1))
    connect_timeout_s: float = field(default=5.0, metadata=_range(0.1))

    def __repr__(self) -> str:
        return _repr_redacted(self)


@dataclass(frozen=True)
class RedisConfig:
    """One of three topologies: ``url`` (single server), ``sentinels`` + ``sentinel_master``
    (failover through Redis Sentinel), or ``cluster_nodes`` (Redis Cluster seed nodes)."""

    url: str = ""  # empty (and no sentinels/cluster): 127.0.0.1:6379, else embedded in ./var/
    sentinels: tuple[str, ...] = ()  # "host:port" of each Sentinel
    sentinel_master: str = ""  # the name the Sentinels monitor
    db: int = field(default=0, metadata=_range(0, 15))  # Sentinel only; a URL carries its own
    cluster_nodes: tuple[str, ...] = ()  # "host:port" seeds; the rest is discovered
    socket_timeout_s: float = field(default=1.0, metadata=_range(0.01))
    connect_timeout_s: float = field(default=1.0, metadata=_range(0.01))
    retries: int = field(default=0, metadata=_range(0, 5))
    max_connections: int = field(default=64, metadata=_range(2))
    password: str = field(default="", repr=False, metadata={"secret": True})  # from env only
    # FLUENTPRO_REDIS_SENTINEL_PASSWORD, when the Sentinels themselves require one.
    sentinel_password: str = field(default="", repr=False, metadata={"secret": True})

    @property
    def topology(self) -> str:
        """``single``, ``sentinel`` or ``cluster``."""
        if self.cluster_nodes:
            return "cluster"
        return "sentinel" if self.sentinels else "single"

    def __repr__(self) -> str:
        return _repr_redacted(self)


@dataclass(frozen=True)
class AuthConfig:
    bcrypt_cost: int = field(default=12, metadata=_range(4, 16))
    token_idle_ttl_s: int = field(default=7 * 24 * 3600, metadata=_range(60))
    token_absolute_ttl_s: int = field(default=30 * 24 * 3600, metadata=_range(60))
    login_failures_before_throttle: int = field(default=5, metadata=_range(1))
    # One client address (an office behind NAT) gets more room than one account.
    login_address_failures_before_throttle: int = field(default=20, metadata=_range(1))
    # One account, guessed from addresses it never signed in from (its owner's skip this).
    login_account_failures_before_throttle: int = field(default=20, metadata=_range(1))
    login_throttle_base_s: float = field(default=2.0, metadata=_range(0.1))
    login_throttle_max_s: float = field(default=300.0, metadata=_range(1))
    cookie_secure: str = field(default="auto", metadata=_one_of("auto", "always", "never"))
    # Authenticate from memory for a few seconds, kept honest by a pub/sub listener.
    local_session_cache: bool = True


@dataclass(frozen=True)
class AIConfig:
    base_url: str = ""  # empty: the local engine answers
    model: str = "gpt-4o-mini"
    deadline_s: float = field(default=20.0, metadata=_range(0.1))
    attempt_timeout_s: float = field(default=8.0, metadata=_range(0.1))
    max_retries: int = field(default=2, metadata=_range(0, 5))
    first_token_timeout_s: float = field(default=10.0, metadata=_range(0.1))
    idle_timeout_s: float = field(default=10.0, metadata=_range(0.1))
    cache_ttl_s: int = field(default=1800, metadata=_range(0))
    quota_per_minute: int = field(default=30, metadata=_range(1))
    api_key: str = field(default="", repr=False, metadata={"secret": True})


@dataclass(frozen=True)
class BreakerConfig:
    failure_ratio: float = field(default=0.5, metadata=_range(0.01, 1))
    sampling_window_s: float = field(default=30.0, metadata=_range(1))
    minimum_throughput: int = field(default=10, metadata=_range(1))
    consecutive_failures: int = field(default=5, metadata=_range(1))
    break_duration_s: float = field(default=30.0, metadata=_range(0.1))
    probe_lease_s: float = field(default=10.0, metadata=_range(0.1))


@dataclass(frozen=True)
class EventsConfig:
    retention_events: int = field(default=10_000, metadata=_range(1000))
    stream_idle_ttl_s: int = field(default=24 * 3600, metadata=_range(3600))
    subscriber_queue: int = field(default=256, metadata=_range(8))
    sse_ping_interval_s: float = field(default=15.0, metadata=_range(0.1, 15))
    sse_retry_ms: int = field(default=3000, metadata=_range(100))
    send_timeout_s: float = field(default=10.0, metadata=_range(0.1))
    hub_block_ms: int = field(default=1000, metadata=_range(10, 10_000))
    ws_auth_timeout_s: float = field(default=5.0, metadata=_range(0.1))


@dataclass(frozen=True)
class LimitsConfig:
    streams_per_user: int = field(default=20, metadata=_range(1))
    ws_per_user: int = field(default=10, metadata=_range(1))
    ws_messages_per_s: float = field(default=20.0, metadata=_range(1))
    ws_max_frame_bytes: int = field(default=64 * 1024, metadata=_range(1024))
    tasks_per_user: int = field(default=5, metadata=_range(1))
    anonymous_requests_per_minute: int = field(default=120, metadata=_range(1))
    # Sign-ups cost a bcrypt hash each and multiply every per-user cap: bounded per client
    # address and in total (security review 2026-12-07, finding 3). Load tests raise them.
    register_per_address_per_minute: int = field(default=5, metadata=_range(1))
    register_per_minute: int = field(default=60, metadata=_range(1))


@dataclass(frozen=True)
class TasksConfig:
    in_process_worker: bool = True
    concurrency: int = field(default=4, metadata=_range(1, 64))
    timeout_s: float = field(default=600.0, metadata=_range(1))
    stalled_after_s: float = field(default=30.0, metadata=_range(1))
    batch_concurrency: int = field(default=8, metadata=_range(1, 64))
    max_retries: int = field(default=3, metadata=_range(0, 20))  # transient failures, lost workers
    retry_backoff_s: float = field(default=2.0, metadata=_range(0, 600))  # doubles per retry
    shutdown_grace_s: float = field(default=5.0, metadata=_range(0, 600))  # then jobs requeue
    engine_processes: int = field(default=2, metadata=_range(0, 64))  # 0: batches use threads


@dataclass(frozen=True)
class MonitorConfig:
    sample_interval_s: float = field(default=0.1, metadata=_range(0.01))
    log_lag_ms: float = field(default=50.0, metadata=_range(1))
    shed_lag_ms: float = field(default=500.0, metadata=_range(1))
    # Shedding stops once the lag has stayed under half the ceiling for this long.
    shed_recover_s: float = field(default=1.0, metadata=_range(0.01))
    metrics_interval_s: float = field(default=1.0, metadata=_range(0.05))


@dataclass(frozen=True)
class ActivityConfig:
    """Interactions, the adaptive engine, onboarding analysis and export."""

    analysis_queue_size: int = field(default=1000, metadata=_range(1))
    analysis_workers: int = field(default=2, metadata=_range(1, 32))
    analysis_timeout_s: float = field(default=10.0, metadata=_range(0.1))
    window_days: int = field(default=14, metadata=_range(1, 365))
    recent_limit: int = field(default=100, metadata=_range(5, 1000))
    skip_threshold: int = field(default=3, metadata=_range(2, 50))
    low_quiz_score: float = field(default=50.0, metadata=_range(0, 100))
    high_quiz_score: float = field(default=85.0, metadata=_range(0, 100))
    fast_completion_factor: float = field(default=1.0, metadata=_range(0.01, 100))
    nudge_after_s: int = field(default=7 * 24 * 3600, metadata=_range(60))
    payload_max_bytes: int = field(default=16 * 1024, metadata=_range(256))
    progress_min_interval_s: float = field(default=2.0, metadata=_range(0.1, 60))
    export_batch: int = field(default=2000, metadata=_range(10, 50_000))
    # Exports hold a connection in a snapshot while they write: at most this many at once
    # per process (the rest of the pool stays for ordinary requests), one per user.
    export_connections: int = field(default=2, metadata=_range(1, 50))
    export_lease_s: float = field(default=60.0, metadata=_range(1))


@dataclass(frozen=True)
class LoggingConfig:
    level: str = field(default="INFO", metadata=_one_of("DEBUG", "INFO", "WARNING", "ERROR"))
    json: bool = True


@dataclass(frozen=True)
class Config:
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    redis: RedisConfig = RedisConfig()
    auth: AuthConfig = AuthConfig()
    ai: AIConfig = AIConfig()
    breaker: BreakerConfig = BreakerConfig()
    events: EventsConfig = EventsConfig()
    limits: LimitsConfig = LimitsConfig()
    tasks: TasksConfig = TasksConfig()
    monitor: MonitorConfig = MonitorConfig()
    activity: ActivityConfig = ActivityConfig()
    logging: LoggingConfig = LoggingConfig()
    pepper: str = field(default="", repr=False, metadata={"secret": True})
    metrics_token: str = field(default="", repr=False, metadata={"secret": True})

    def replace(self, **sections: Any) -> Config:
        """A copy with whole sections or keys replaced: ``cfg.replace(ai={"model": "x"})``."""
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            current = getattr(self, name)
            if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
                changes[name] = dataclasses.replace(current, **value)  # type: ignore[type-var]
            else:
                changes[name] = value
        return dataclasses.replace(self, **changes)
