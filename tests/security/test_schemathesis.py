"""Schemathesis against /api/openapi.json of a running server, authenticated by bearer.

Phases examples, fuzzing and stateful; checks: no 5xx, responses conform to
the documented schemas, status codes and content types, and no response-time outlier.
Bounded to a minute or two here (``SCHEMATHESIS_MAX_EXAMPLES``); the soak run goes bigger.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.processes import ROOT
from tests.security.conftest import LiveServer

# status_code_conformance is left out: aiohttp answers 400 to any request line over 8190
# bytes and /ws answers 400 to a non-upgrade GET, neither documented per operation
# (reported; see docs/RELIABILITY.md).
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


def run_schemathesis(live: LiveServer, *, max_examples: int, max_time_s: int) -> str:
    st = Path(sys.executable).with_name("st")
    with tempfile.TemporaryDirectory() as reports:
        done = subprocess.run(
            [
                str(st),
                "run",
                f"{live.base}/api/openapi.json",
                "--header",
                f"Authorization: Bearer {live.token}",
                "--checks",
                CHECKS,
                "--max-response-time",
                "3",
                "--max-examples",
                str(max_examples),
                "--max-time",
                str(max_time_s),
                "--phases",
                # "coverage" is left out: schemathesis 4.32 crashes on our roles schema
                # (KeyError inside its coverage generator), a tool bug, not ours.
                "examples,fuzzing,stateful",
                "--request-timeout",
                "10",
                "--seed",
                "20261126",
                "--workers",
                "2",
                "--exclude-path-regex",
                "/stream|/events$",  # endless SSE / NDJSON streams have their own tests
                "--exclude-path",
                "/api/v1/auth/logout",  # would revoke the token the run authenticates with
                "--report-dir",
                reports,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=max_time_s + 120,
            env={**os.environ, "NO_COLOR": "1"},
        )
    Path(os.environ.get("SCHEMATHESIS_LOG", "/tmp/fluentpro-schemathesis.log")).write_text(
        done.stdout + done.stderr
    )
    output = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, output
    return output


def test_schemathesis_finds_no_server_error_or_schema_violation(live_server: LiveServer) -> None:
    out = run_schemathesis(
        live_server,
        max_examples=int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15")),
        max_time_s=int(os.environ.get("SCHEMATHESIS_MAX_TIME_S", "90")),
    )
    assert "unhandled error" not in live_server.log_text(), out
