"""Helpers for tests that run the server as a real OS process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, redis_url: str, port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FLUENTPRO_DATABASE_URL=database_url,
        FLUENTPRO_REDIS_URL=redis_url,
        FLUENTPRO_PORT=str(port),
        FLUENTPRO_PEPPER="test-pepper-not-secret",
        FLUENTPRO_AUTH_BCRYPT_COST="4",
        FLUENTPRO_SERVER_SHUTDOWN_GRACE_S="5",
        FLUENTPRO_LOGGING_LEVEL="WARNING",
        FLUENTPRO_LIMITS_REGISTER_PER_ADDRESS_PER_MINUTE="100000",
        FLUENTPRO_LIMITS_REGISTER_PER_MINUTE="100000",
    )
    env.pop("FLUENTPRO_WORKER_CHILD", None)
    env.update(extra)
    return env


def start(args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll until ``url`` answers 200 (the server process is up), or fail with its output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"server exited {proc.returncode}: {err.decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)  # polling a process we started; there is no event to wait for
    raise AssertionError(f"{url} did not come up within {timeout}s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
