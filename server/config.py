"""Configuration: config.yaml → marshmallow validation → frozen dataclasses.

Every key can be overridden from the environment as ``FLUENTPRO_<SECTION>_<KEY>``
(``FLUENTPRO_DATABASE_URL``, ``FLUENTPRO_AI_MODEL`` …) plus the short aliases that
API.md fixes (``FLUENTPRO_HOST``, ``FLUENTPRO_PORT``, ``FLUENTPRO_WORKERS``,
``FLUENTPRO_ALLOWED_ORIGINS``). Secrets (AI key, pepper) come only from the environment.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields, validate

from server.config_safety import ENVIRONMENTS, metrics_problem, production_problem, redact_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yaml"


def _repr_redacted(section: Any) -> str:
    """A section's repr with the password of its ``url`` hidden."""
    values = {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}
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
    url: str = ""  # empty: a server on 127.0.0.1:6379, else an embedded one under ./var/
    socket_timeout_s: float = field(default=1.0, metadata=_range(0.01))
    connect_timeout_s: float = field(default=1.0, metadata=_range(0.01))
    retries: int = field(default=0, metadata=_range(0, 5))
    max_connections: int = field(default=64, metadata=_range(2))

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


class ConfigError(Exception):
    """Invalid configuration; the message is one line naming the key and the problem."""


# Short environment names fixed by API.md.
_ALIASES = {
    "FLUENTPRO_HOST": ("server", "host"),
    "FLUENTPRO_PORT": ("server", "port"),
    "FLUENTPRO_WORKERS": ("server", "workers"),
    "FLUENTPRO_ALLOWED_ORIGINS": ("server", "allowed_origins"),
    "FLUENTPRO_ENV": ("server", "environment"),
}


def _marshmallow_field(tp: Any, meta: Mapping[str, Any]) -> fields.Field:
    kwargs = {"validate": meta["validate"]} if "validate" in meta else {}
    origin = typing.get_origin(tp)
    if tp is bool:
        return fields.Boolean(**kwargs)
    if tp is int:
        return fields.Integer(strict=False, **kwargs)
    if tp is float:
        return fields.Float(**kwargs)
    if tp is str:
        return fields.String(**kwargs)
    if origin is tuple:
        return fields.List(fields.String(), **kwargs)
    raise TypeError(f"unsupported config type {tp!r}")


def _section_schema(cls: type) -> type[Schema]:
    hints = typing.get_type_hints(cls)
    schema_fields = {
        f.name: _marshmallow_field(hints[f.name], f.metadata)
        for f in dataclasses.fields(cls)
        if not f.metadata.get("secret")
    }
    return Schema.from_dict(schema_fields, name=f"{cls.__name__}Schema")


def _sections() -> dict[str, type]:
    hints = typing.get_type_hints(Config)
    return {
        f.name: hints[f.name]
        for f in dataclasses.fields(Config)
        if isinstance(hints[f.name], type) and dataclasses.is_dataclass(hints[f.name])
    }


def _coerce_env(value: str, tp: Any) -> Any:
    if typing.get_origin(tp) is tuple:
        return [part.strip() for part in value.split(",") if part.strip()]
    return value  # marshmallow converts "8080" / "true" itself


def _first_error(messages: Any, prefix: str) -> str:
    if isinstance(messages, Mapping):
        key, value = next(iter(messages.items()))
        return _first_error(value, f"{prefix}.{key}" if prefix else str(key))
    if isinstance(messages, list) and messages:
        first = messages[0]
        return _first_error(first, prefix) if not isinstance(first, str) else f"{prefix}: {first}"
    return f"{prefix}: {messages}"


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Read ``config.yaml``, apply environment overrides and validate everything.

    Raises ConfigError with one line naming the offending key.
    """
    env = os.environ if env is None else env
    cfg_path = Path(path) if path else Path(env.get("FLUENTPRO_CONFIG", DEFAULT_CONFIG_PATH))
    try:
        raw = yaml.safe_load(cfg_path.read_text()) if cfg_path.exists() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{cfg_path}: not valid YAML ({exc.__class__.__name__})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{cfg_path}: the top level must be a mapping of sections")
    sections = _sections()
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown configuration section")

    built: dict[str, Any] = {}
    for name, cls in sections.items():
        data = dict(raw.get(name) or {})
        if not isinstance(raw.get(name) or {}, dict):
            raise ConfigError(f"{name}: must be a mapping of keys")
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            env_name = f"FLUENTPRO_{name}_{f.name}".upper()
            if env_name in env and not f.metadata.get("secret"):
                data[f.name] = _coerce_env(env[env_name], hints[f.name])
        for alias, (section, key) in _ALIASES.items():
            if section == name and alias in env:
                data[key] = _coerce_env(env[alias], hints[key])
        data.update((overrides or {}).get(name, {}))
        try:
            loaded = _section_schema(cls)().load(data)
        except ValidationError as exc:
            raise ConfigError(_first_error(exc.messages, name)) from None
        for key, tp in hints.items():
            if typing.get_origin(tp) is tuple and key in loaded:
                loaded[key] = tuple(loaded[key])
        built[name] = cls(**loaded)

    ai_key = env.get("FLUENTPRO_AI_API_KEY") or env.get("OPENAI_API_KEY") or ""
    built["ai"] = dataclasses.replace(built["ai"], api_key=ai_key)
    config = Config(
        **built,
        pepper=env.get("FLUENTPRO_PEPPER", ""),
        metrics_token=env.get("FLUENTPRO_METRICS_TOKEN", ""),
    )
    problem = production_problem(
        environment=config.server.environment,
        pepper=config.pepper,
        cookie_secure=config.auth.cookie_secure,
    )
    problem = problem or metrics_problem(
        access=config.server.metrics_access, token=config.metrics_token
    )
    if problem is not None:
        raise ConfigError(problem)
    return config


__all__ = ["PROJECT_ROOT", "Config", "ConfigError", "load_config"]
