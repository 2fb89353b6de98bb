"""The configuration reference (docs/configuration.md), generated from the config schema.

    python -m server.config_reference > docs/configuration.md     # or: make docs

Keys, environment names, types, defaults and allowed ranges come from the dataclasses in
``handlers/config.py`` (``load_config`` in ``server/config.py`` validates with the schema
built from them); only the one-line
descriptions live here. ``tests/test_docs.py`` fails when the page is out of date.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Any

from marshmallow import validate

from server.config import _ALIASES, Config, _sections

DESCRIPTIONS: dict[str, str] = {
    "server.host": "Address to listen on.",
    "server.port": "TCP port to listen on.",
    "server.workers": "Server processes sharing the port (SO_REUSEPORT); a dead one is replaced.",
    "server.shutdown_grace_s": "On SIGTERM, how long in-flight requests get before the exit.",
    "server.allowed_origins": "Browser origins allowed on the WebSocket and for cookie writes.",
    "server.body_limit_bytes": "Largest request body accepted (413 above).",
    "server.trust_forwarded_for": "Use X-Forwarded-For for per-client limits (behind a proxy).",
    "server.gc_freeze": "Freeze the start-up heap so the collector skips it.",
    "server.gc_young_threshold": "Allocations between young collections (CPython: 700).",
    "server.gc_full_every": "Middle collections between full ones (CPython: 10).",
    "server.event_loop": "uvloop (about 25 % more requests/s) or asyncio.",
    "database.url": "libpq URL; empty: 127.0.0.1:5432, else an embedded server under ./var/.",
    "database.pool_min": "Connections kept open per process.",
    "database.pool_max": "Most connections per process; requests queue fairly beyond it.",
    "database.statement_timeout_ms": "PostgreSQL statement_timeout of every connection.",
    "database.query_timeout_s": "Client-side limit on one query, pool wait included.",
    "database.connect_timeout_s": "Limit on opening one connection.",
    "redis.url": "redis://host:port/db; empty: 127.0.0.1:6379/1, else an embedded server.",
    "redis.socket_timeout_s": "Limit on one Redis command.",
    "redis.connect_timeout_s": "Limit on connecting to Redis.",
    "redis.retries": "Retries of a failed command on the request path (0: fall back at once).",
    "redis.max_connections": "Connection pool size per process.",
    "auth.bcrypt_cost": "bcrypt work factor of password hashes (12: about 240 ms).",
    "auth.token_idle_ttl_s": "A session unused this long expires.",
    "auth.token_absolute_ttl_s": "A session expires this long after login, used or not.",
    "auth.login_failures_before_throttle": "Failed logins of one account before delays start.",
    "auth.login_address_failures_before_throttle": "Failed logins from one address before delays.",
    "auth.login_throttle_base_s": "First login delay; it doubles with each further failure.",
    "auth.login_throttle_max_s": "Longest login delay.",
    "auth.cookie_secure": "Secure flag of the session cookie: auto (when served over TLS).",
    "auth.local_session_cache": "Authenticate from a 10 s in-process cache kept true by pub/sub.",
    "ai.base_url": "OpenAI-compatible endpoint; empty: the built-in local engine answers.",
    "ai.model": "Model name sent to the provider.",
    "ai.deadline_s": "Limit on one AI answer, retries included; then the local fallback.",
    "ai.attempt_timeout_s": "Limit on one provider call.",
    "ai.max_retries": "Retries of a failed provider call within the deadline.",
    "ai.first_token_timeout_s": "Streams: limit on the wait for the first token.",
    "ai.idle_timeout_s": "Streams: limit on the silence between two tokens.",
    "ai.cache_ttl_s": "How long AI answers are cached in Redis (0: no cache).",
    "ai.quota_per_minute": "AI calls per user per minute; beyond it the local engine answers.",
    "breaker.failure_ratio": "Failure ratio in the window that opens the circuit.",
    "breaker.sampling_window_s": "Window the failure ratio is measured over.",
    "breaker.minimum_throughput": "Calls in the window before the ratio counts.",
    "breaker.consecutive_failures": "Failures in a row that open the circuit at once.",
    "breaker.break_duration_s": "How long an open circuit waits before one probe call.",
    "breaker.probe_lease_s": "How long the single half-open probe may take.",
    "events.retention_events": "Events kept per channel for resume (Last-Event-ID).",
    "events.stream_idle_ttl_s": "A channel with no new event for this long is deleted.",
    "events.subscriber_queue": "Events queued per slow subscriber before it is dropped.",
    "events.sse_ping_interval_s": "SSE `: ping` comment interval (also the WebSocket heartbeat).",
    "events.sse_retry_ms": "`retry:` sent to SSE clients (their reconnect delay).",
    "events.send_timeout_s": "Limit on one write to a client; a stalled client is dropped.",
    "events.hub_block_ms": "How long the event hub blocks on one Redis read.",
    "events.ws_auth_timeout_s": "Time for the first `auth` message of a WebSocket.",
    "limits.streams_per_user": "Open SSE streams per user (429 beyond).",
    "limits.ws_per_user": "Open WebSockets per user.",
    "limits.ws_messages_per_s": "Client messages per second per WebSocket (a flood closes 1008).",
    "limits.ws_max_frame_bytes": "Largest WebSocket frame (closes 1009 above).",
    "limits.tasks_per_user": "Unfinished tasks per user.",
    "limits.anonymous_requests_per_minute": "Requests per minute per client without login.",
    "tasks.in_process_worker": "Run a task worker inside each server process.",
    "tasks.concurrency": "Jobs at once per worker process.",
    "tasks.timeout_s": "Limit on one task.",
    "tasks.stalled_after_s": "A worker silent this long is dead: its job is retried or failed.",
    "tasks.batch_concurrency": "batch_role_match items in flight per task.",
    "tasks.max_retries": "Retries after transient failures and lost workers.",
    "tasks.retry_backoff_s": "Delay before the first retry; it doubles with each one.",
    "tasks.shutdown_grace_s": "Running jobs get this long at shutdown, then are requeued.",
    "tasks.engine_processes": "Local-engine processes for batches (0: a thread pool).",
    "monitor.sample_interval_s": "Event-loop lag sampling interval.",
    "monitor.log_lag_ms": "Loop lag that is logged with the request that caused it.",
    "monitor.shed_lag_ms": "Loop lag above which new streams and AI work are refused (503).",
    "monitor.shed_recover_s": "How long the lag must stay low before shedding stops.",
    "monitor.metrics_interval_s": "Interval of the `system` metrics event and shared gauges.",
    "activity.analysis_queue_size": "Interactions waiting for the adaptive engine per process.",
    "activity.analysis_workers": "Adaptive-engine workers per process.",
    "activity.analysis_timeout_s": "Limit on one adaptive analysis.",
    "activity.window_days": "Days of interactions the adaptive engine looks at.",
    "activity.recent_limit": "Most recent interactions the adaptive engine reads.",
    "activity.skip_threshold": "Skips of similar courses that trigger a recommendation.",
    "activity.low_quiz_score": "Quiz score below which a review is recommended.",
    "activity.high_quiz_score": "Quiz score above which harder courses are recommended.",
    "activity.fast_completion_factor": "Completion faster than duration × this is mastery.",
    "activity.nudge_after_s": "Inactivity after which a goal nudge is recommended.",
    "activity.payload_max_bytes": "Largest interaction payload.",
    "activity.progress_min_interval_s": "Least time between two onboarding progress events.",
    "activity.export_batch": "Rows fetched per round trip by the data export.",
    "logging.level": "Log level.",
    "logging.json": "One JSON object per log line (false: plain text).",
}

SECRETS = (
    ("FLUENTPRO_AI_API_KEY", "Provider API key (falls back to `OPENAI_API_KEY`)."),
    ("FLUENTPRO_PEPPER", "Secret pepper of password hashes; without it `./var/pepper` is made."),
)


def _type(tp: Any) -> str:
    if typing.get_origin(tp) is tuple:
        return "list of strings (comma-separated in the environment)"
    return getattr(tp, "__name__", str(tp))


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _allowed(meta: typing.Mapping[str, Any]) -> str:
    rule = meta.get("validate")
    if isinstance(rule, validate.Range):
        lo = "" if rule.min is None else f"≥ {_num(rule.min)}"
        hi = "" if rule.max is None else f"≤ {_num(rule.max)}"
        return ", ".join(x for x in (lo, hi) if x)
    if isinstance(rule, validate.OneOf):
        return " / ".join(f"`{c}`" for c in rule.choices)
    return ""


def _default(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return ", ".join(f"`{v}`" for v in value) or "(none)"
    if value == "":
        return '`""`'
    return f"`{value}`"


def render() -> str:
    """The whole Markdown page."""
    aliases = {f"{s}.{k}": alias for alias, (s, k) in _ALIASES.items()}
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m server.config_reference` (`make docs`) from the schema",
        "     in handlers/config.py. Do not edit by hand; tests/test_docs.py checks it. -->",
        "",
        "Settings are read from `config.yaml` (or the file named by `FLUENTPRO_CONFIG`),",
        "then from the environment, and validated at start-up: an invalid value stops the",
        "process with one line naming the key. Every key below can be set in the environment",
        "as shown; lists are comma-separated there.",
        "",
        "Secrets are read from the environment only, never from a file:",
        "",
        "| variable | meaning |",
        "|---|---|",
        *(f"| `{name}` | {text} |" for name, text in SECRETS),
    ]
    defaults = Config()
    for section, cls in _sections().items():
        hints = typing.get_type_hints(cls)
        doc = (cls.__doc__ or "").strip()
        out += ["", f"## `{section}`", ""]
        if doc and not doc.startswith(cls.__name__ + "("):
            out += [doc.splitlines()[0], ""]
        out += [
            "| key | environment | type | default | allowed | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for f in dataclasses.fields(cls):
            if f.metadata.get("secret"):
                continue
            key = f"{section}.{f.name}"
            env = f"`FLUENTPRO_{section.upper()}_{f.name.upper()}`"
            if key in aliases:
                env += f", `{aliases[key]}`"
            value = getattr(getattr(defaults, section), f.name)
            out.append(
                f"| `{f.name}` | {env} | {_type(hints[f.name])} | {_default(value)} | "
                f"{_allowed(f.metadata)} | {DESCRIPTIONS.get(key, '')} |"
            )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
