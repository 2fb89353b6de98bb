"""Configuration loading: config.yaml → marshmallow validation → the frozen dataclasses of
``handlers/config.py``.

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
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError, fields

from handlers.config import Config, RedisConfig
from server.config_safety import metrics_problem, production_problem

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Inside the package (a link to the top-level config.yaml in a checkout, a copy in the
# wheel), so an installed server finds its defaults from any working directory.
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent / "config.yaml"


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


def _check_redis_topology(cfg: RedisConfig) -> None:
    """Exactly one topology, with well-formed addresses; no DB number on a cluster."""
    chosen = [key for key in ("url", "sentinels", "cluster_nodes") if getattr(cfg, key)]
    if len(chosen) > 1:
        raise ConfigError(
            f"redis.{chosen[1]}: choose one topology (url, sentinels or cluster_nodes), "
            f"{chosen[0]} is set too"
        )
    for key in ("sentinels", "cluster_nodes"):
        for item in getattr(cfg, key):
            host, sep, port = item.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ConfigError(f"redis.{key}: {item!r} is not host:port")
    if cfg.sentinels and not cfg.sentinel_master:
        raise ConfigError("redis.sentinel_master: required with redis.sentinels")
    if cfg.db and not cfg.sentinels:
        what = "a cluster has only database 0" if cfg.cluster_nodes else "put it in redis.url"
        raise ConfigError(f"redis.db: only for Sentinel ({what})")


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
    built["redis"] = dataclasses.replace(
        built["redis"],
        password=env.get("FLUENTPRO_REDIS_PASSWORD", ""),
        sentinel_password=env.get("FLUENTPRO_REDIS_SENTINEL_PASSWORD", ""),
    )
    _check_redis_topology(built["redis"])
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


__all__ = ["PROJECT_ROOT", "ConfigError", "load_config"]
