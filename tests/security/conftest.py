"""A live server process for the black-box security tests (schemathesis, fuzzing)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import _recreate_database
from tests.processes import ROOT, free_port, server_env, stop, wait_http

DEFAULT_PASSWORD = "copper-lantern-orbit-meadow-42"


@dataclass
class LiveServer:
    base: str
    token: str
    user_id: str
    log: Any  # the server's stdout+stderr (a temporary file)

    def log_text(self) -> str:
        self.log.seek(0)
        return str(self.log.read().decode("utf-8", "replace"))


@pytest.fixture(scope="module")
def live_server(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    """The server as an OS process on its own copy of the test database, with generous
    limits so fuzzing is not mostly answered 429; in-process task worker off."""
    url = _recreate_database(database_url, database_url.rsplit("/", 1)[1] + "_sec")
    port = free_port()
    env = server_env(
        url,
        redis_url,
        port,
        FLUENTPRO_LIMITS_ANONYMOUS_REQUESTS_PER_MINUTE="1000000",
        FLUENTPRO_LIMITS_WS_MESSAGES_PER_S="100000",
        FLUENTPRO_LIMITS_TASKS_PER_USER="100000",
        FLUENTPRO_LIMITS_STREAMS_PER_USER="1000",
        FLUENTPRO_AUTH_LOGIN_FAILURES_BEFORE_THROTTLE="1000000",
        FLUENTPRO_AUTH_LOGIN_ADDRESS_FAILURES_BEFORE_THROTTLE="1000000",
        FLUENTPRO_AUTH_LOGIN_ACCOUNT_FAILURES_BEFORE_THROTTLE="1000000",
        FLUENTPRO_TASKS_IN_PROCESS_WORKER="false",
        FLUENTPRO_AI_BASE_URL="",
    )
    log = tempfile.TemporaryFile()  # a pipe nobody reads would fill and block the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health/ready", 90.0, proc)
        r = httpx.post(
            f"{base}/api/v1/auth/register",
            json={
                "email": f"fuzz-{uuid.uuid4().hex[:10]}@example.com",
                "password": DEFAULT_PASSWORD,
            },
            timeout=10,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        yield LiveServer(base, body["token"], body["user"]["id"], log)
    finally:
        stop(proc)
        log.close()
