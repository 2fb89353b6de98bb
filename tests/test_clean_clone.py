"""A team's first hour, from the repository alone: a `git archive` of HEAD in an empty
directory, the README's `make run` there (runtime lock only, its own .venv), then what the
docs promise against that server — the curl example, the AsyncAPI document through the
validator `make test` installs, and every link of the clone's docs."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port, server_env, wait_http
from tests.test_docs import broken_links

pytestmark = pytest.mark.skipif(
    not (ROOT / ".git").exists() or shutil.which("git") is None,
    reason="not a git checkout: there is no HEAD to archive",
)


def sh(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
    return done.stdout


@pytest.mark.timeout(1200)
def test_clone_runs_with_the_readme_commands(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    clone = tmp_path / "fluentpro"
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(clone, filter="tar")
    readme = (clone / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert not broken_links(clone), broken_links(clone)

    port = free_port()
    env = server_env(database_url, redis_url, port)
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "FLUENTPRO_CONFIG", "MAKEFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # make and the server it starts: one group to stop
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health/ready", timeout=600, proc=proc)
        listed = sh([str(clone / ".venv/bin/python"), "-m", "pip", "list", "--format=json"], clone)
        installed = {p["name"].lower() for p in json.loads(listed)}
        assert "aiohttp" in installed
        assert not {"pytest", "ruff", "mypy", "playwright"} & installed  # runtime lock only

        example = clone / "docs" / "examples" / "curl.sh"
        out = sh(
            ["bash", str(example)],
            clone,
            env={
                **os.environ,
                "BASE": base,
                "EMAIL": f"clone-{uuid.uuid4().hex[:8]}@example.com",
                "PASSWORD": "Granite-Comet-Willow-5150",
            },
        )
        assert out.splitlines()[-1] == "complete", out

        with urllib.request.urlopen(f"{base}/api/asyncapi.json", timeout=10) as r:
            (tmp_path / "asyncapi.json").write_text(r.read().decode())
        sh(["make", "node-tools"], clone, env=env)
        report = sh(["node", "tools/node/validate.mjs", str(tmp_path / "asyncapi.json")], clone)
        assert all(json.loads(line)["severity"] > 0 for line in report.splitlines()), report
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
