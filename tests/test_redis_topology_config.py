"""Choosing the Redis topology: configuration, environment, validation, key slots."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from server.config import ConfigError, load_config
from server.resources import topology_of
from services.breaker.shared import RedisCircuitBreaker
from services.redis_clients import CLUSTER, SENTINEL, SINGLE, parse_addresses
from services.throttle import LoginThrottle

NO_FILE = "/nonexistent/config.yaml"


def _load(**env: str) -> object:
    return load_config(NO_FILE, env=env)


def test_single_is_the_default_and_keeps_its_url() -> None:
    cfg = load_config(NO_FILE, env={"FLUENTPRO_REDIS_URL": "redis://127.0.0.1:6390/4"}).redis
    assert cfg.topology == SINGLE
    topo = topology_of(cfg)
    assert (topo.kind, topo.url) == (SINGLE, "redis://127.0.0.1:6390/4")


def test_sentinel_from_the_environment_with_password_from_the_environment_only() -> None:
    cfg = load_config(
        NO_FILE,
        env={
            "FLUENTPRO_REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2:26379,10.0.0.3:26379",
            "FLUENTPRO_REDIS_SENTINEL_MASTER": "main",
            "FLUENTPRO_REDIS_DB": "2",
            "FLUENTPRO_REDIS_PASSWORD": "s3cret-pw",
        },
    ).redis
    topo = topology_of(cfg)
    assert topo.kind == SENTINEL
    assert topo.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("10.0.0.3", 26379))
    assert (topo.master, topo.db, topo.password) == ("main", 2, "s3cret-pw")
    # Never in a log line or a repr.
    assert "s3cret" not in topo.describe() and "s3cret" not in repr(topo)
    assert "s3cret" not in repr(cfg)
    assert topo.describe() == (
        "sentinel master 'main' db 2 via 10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379"
    )


def test_cluster_from_the_environment() -> None:
    cfg = load_config(
        NO_FILE, env={"FLUENTPRO_REDIS_CLUSTER_NODES": "r1:7000,r2:7000,[::1]:7001"}
    ).redis
    topo = topology_of(cfg)
    assert topo.kind == CLUSTER
    assert topo.nodes == (("r1", 7000), ("r2", 7000), ("::1", 7001))
    assert topo.describe() == "cluster seeds r1:7000,r2:7000,::1:7001"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"FLUENTPRO_REDIS_URL": "redis://h/0", "FLUENTPRO_REDIS_CLUSTER_NODES": "h:7000"},
            "redis.cluster_nodes: choose one topology (url, sentinels or cluster_nodes), "
            "url is set too",
        ),
        (
            {"FLUENTPRO_REDIS_SENTINELS": "h:26379"},
            "redis.sentinel_master: required with redis.sentinels",
        ),
        (
            {"FLUENTPRO_REDIS_CLUSTER_NODES": "h:7000,h-without-port"},
            "redis.cluster_nodes: 'h-without-port' is not host:port",
        ),
        (
            {"FLUENTPRO_REDIS_SENTINELS": "h:99999", "FLUENTPRO_REDIS_SENTINEL_MASTER": "m"},
            "redis.sentinels: 'h:99999' is not host:port",
        ),
        (
            {"FLUENTPRO_REDIS_CLUSTER_NODES": "h:7000", "FLUENTPRO_REDIS_DB": "3"},
            "redis.db: only for Sentinel (a cluster has only database 0)",
        ),
    ],
)
def test_a_bad_topology_is_one_clear_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(NO_FILE, env=env)
    assert str(caught.value) == message


def test_the_password_is_not_read_from_the_config_file(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "config.yaml"
    path.write_text("redis:\n  password: in-a-file\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert "password" in str(caught.value)


def test_parse_addresses_names_the_bad_item() -> None:
    assert parse_addresses(["a:1", " b:2 "]) == (("a", 1), ("b", 2))
    with pytest.raises(ValueError, match="'a:x' is not host:port"):
        parse_addresses(["a:x"])


def test_keys_a_script_touches_together_share_one_cluster_slot() -> None:
    counter, block = LoginThrottle._keys("acct", "someone@example.com")
    busy = counter[: -len(":f")] + ":busy"
    assert key_slot(counter.encode()) == key_slot(block.encode()) == key_slot(busy.encode())
    addr_counter, addr_block = LoginThrottle._keys("addr", "192.0.2.1")
    assert key_slot(addr_counter.encode()) == key_slot(addr_block.encode())

    class _NoScripts:
        def register_script(self, _: str) -> None:
            return None

    breaker = RedisCircuitBreaker(_NoScripts(), "ai")  # type: ignore[arg-type]
    assert len({key_slot(k.encode()) for k in breaker._keys}) == 1
