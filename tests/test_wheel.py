"""The wheel runs: built from this checkout, installed into a fresh virtualenv (the
runtime lock, then the wheel), and started as ``python -m server`` from a directory that
is not the checkout — it serves the web app, the API docs assets and its migrations and
seed data from the installed package alone."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port, server_env, stop, wait_http


def sh(*args: str | Path, cwd: Path = ROOT, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
    return done.stdout


def get(url: str, **headers: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return r.status, r.read()


def register(base: str) -> str:
    body = json.dumps({"email": "wheel@example.com", "password": "Orbit-Meadow-Violin-8841"})
    request = urllib.request.Request(
        f"{base}/api/v1/auth/register",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        return str(json.loads(r.read())["token"])


@pytest.mark.timeout(900)
def test_wheel_installs_into_a_fresh_virtualenv_and_serves(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    dist, venv, elsewhere = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    elsewhere.mkdir()
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, ROOT)
    (wheel,) = dist.glob("fluentpro-*.whl")
    sh(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    sh(python, "-m", "pip", "install", "--quiet", "--require-hashes", "-r",
       ROOT / "requirements" / "runtime.txt")  # fmt: skip
    sh(python, "-m", "pip", "install", "--quiet", "--no-deps", wheel)
    where = sh(
        python, "-c", "import server, db; print(server.__file__, db.__file__)", cwd=elsewhere
    )
    assert all(p.startswith(str(venv)) for p in where.split()), where  # not the checkout

    port = free_port()
    env = server_env(database_url, redis_url, port)
    for name in ("PYTHONPATH", "FLUENTPRO_CONFIG", "VIRTUAL_ENV"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [str(python), "-m", "server"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health/ready", timeout=60, proc=proc)
        for path in (
            "/",
            "/static/js/app.js",
            "/api/docs",
            "/static/vendor/swagger-ui/swagger-ui-bundle.js",
            "/api/docs/events",
        ):
            status, body = get(base + path)
            assert status == 200 and body, path
        token = register(base)  # migrations applied from the installed package
        status, body = get(f"{base}/api/v1/courses?limit=1", Authorization=f"Bearer {token}")
        # the catalog seeded from the installed package's data
        assert status == 200 and json.loads(body)["items"], body
    finally:
        assert stop(proc) == 0
