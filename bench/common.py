"""Shared benchmark plumbing: service resolution, server processes, wrk load, results."""

from __future__ import annotations

import collections
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DB = "fluentpro_bench"
BENCH_REDIS_DB = 12


def services() -> tuple[str, str]:
    """PostgreSQL (own bench database) and Redis (own DB number) URLs, resolved like `make run`."""
    sys.path.insert(0, str(ROOT))
    from server import infra

    var = infra.var_dir()
    pg = infra.locate_postgres(os.environ.get("FLUENTPRO_DATABASE_URL", ""), BENCH_DB, var)
    rd = infra.locate_redis(os.environ.get("FLUENTPRO_REDIS_URL", ""), BENCH_REDIS_DB, var)
    return pg.url, rd.url


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def server_process(
    args: list[str], env: Mapping[str, str] | None = None, health: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server in its own process (so the load generator never shares its loop)."""
    full_env = dict(os.environ)
    # Benchmarks register many users from one address: lift the sign-up limits.
    full_env.setdefault("FLUENTPRO_LIMITS_REGISTER_PER_ADDRESS_PER_MINUTE", "1000000")
    full_env.setdefault("FLUENTPRO_LIMITS_REGISTER_PER_MINUTE", "1000000")
    full_env.update(env or {})
    # stderr goes to a file: an undrained pipe would block the server once it fills (64 KB).
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_file = open(RESULTS / f"server-{args[-1].rsplit('/', 1)[-1]}.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    try:
        if health:
            wait_http(health)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * _UNITS[m.group(2)]


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str,
    *,
    connections: int = 64,
    duration_s: int = 8,
    headers: Mapping[str, str] | None = None,
    threads: int = 1,
) -> dict[str, float]:
    """Load ``url`` with wrk (a separate process): req/s, p50 and p99 latency, errors."""
    if not have_wrk():
        raise RuntimeError("wrk is not installed (make bench installs Debian's wrk)")
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration_s}s", "--latency"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, timeout=duration_s + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock_err = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock_err:
        errors += sum(int(g) for g in sock_err.groups())
    return {
        "rps": rps,
        "p50_ms": _ms(lat.get("50", "")),
        "p99_ms": _ms(lat.get("99", "")),
        "errors": errors,
    }


def interleaved(
    loads: Mapping[str, Callable[[], dict[str, float]]], *, rounds: int = 3
) -> dict[str, dict[str, Any]]:
    """Run each load once per round, in turn (A B A B ...), and give each its median figures
    (req/s, p50, p99; errors summed) with every round kept under ``rounds``.

    On a small, noisy machine the load of one moment differs from the next by 15-40 %;
    taking the endpoint and its baseline side by side, several times, makes their ratio
    depend on them rather than on when each happened to run."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in loads}
    for _ in range(rounds):
        for name, load in loads.items():
            runs[name].append(load())
    out: dict[str, dict[str, Any]] = {}
    for name, figures in runs.items():
        out[name] = {
            "rps": statistics.median(f["rps"] for f in figures),
            "p50_ms": statistics.median(f["p50_ms"] for f in figures),
            "p99_ms": statistics.median(f["p99_ms"] for f in figures),
            "errors": sum(int(f["errors"]) for f in figures),
            "rounds": figures,
        }
    return out


def machine_info() -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for pkg in ("aiohttp", "aiohttp-sse", "aiopg", "redis", "openai", "bcrypt", "procrastinate"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    return path


OWN_CODE = ("server/", "services/", "handlers/", "db/")


def _frame(frame: str) -> tuple[str, str]:
    """``"func (path:line)"`` → (``"func (path)"``, path)."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{name} ({path})", path


def profile(pid: int, seconds: int, name: str) -> dict[str, Any]:
    """py-spy for ``seconds`` (non-blocking, per thread): where the event-loop thread
    spends its time (top self frames, top own-code frames inclusive) and how busy the
    other threads (bcrypt pool, aiopg) are. Raw samples: ``RESULTS/<name>-pyspy.txt``."""
    out = RESULTS / f"{name}-pyspy.txt"
    cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "-d", str(seconds), "-r", "100"]
    cmd += ["-f", "raw", "--threads", "--nonblocking", "-o", str(out), "--pid", str(pid)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    if done.returncode != 0 or not out.exists():
        return {"error": done.stderr[-500:]}
    stacks: list[tuple[list[str], int]] = []
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            stacks.append((stack.split(";"), int(n)))
    loop_threads = {
        f[0]
        for f, _ in stacks
        if any(x.startswith(("run_app (", "run_forever (", "Runner.run (")) for x in f)
    }
    leaf: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    others: collections.Counter[str] = collections.Counter()
    loop_samples = 0
    for frames, count in stacks:
        if frames[0] not in loop_threads:
            others[_frame(frames[-1])[0]] += count
            continue
        loop_samples += count
        leaf[_frame(frames[-1])[0]] += count
        for name, path in {_frame(f) for f in frames[1:]}:
            if path.startswith(OWN_CODE):
                own[name] += count
    busy = max(1, loop_samples)
    return {
        "loop_thread_busy_share": round(loop_samples / (seconds * 100), 3),
        "loop_top_self": [(f, round(c / busy, 3)) for f, c in leaf.most_common(10)],
        "loop_top_own_code_inclusive": [(f, round(c / busy, 3)) for f, c in own.most_common(10)],
        "other_threads_top_self": [
            (f, round(c / (seconds * 100), 3)) for f, c in others.most_common(5)
        ],
        "raw": str(out.relative_to(RESULTS.parent.parent)),
    }


def summary(spy: dict[str, Any]) -> str:
    """The profile in one sentence: where the loop thread's time goes."""
    if not spy.get("loop_top_self"):
        return f"no profile ({spy.get('error', 'py-spy unavailable')[:200]})"
    top = ", ".join(f"{f} {share:.0%}" for f, share in spy["loop_top_self"][:5])
    own = ", ".join(f"{f} {share:.0%}" for f, share in spy["loop_top_own_code_inclusive"][:6])
    return (
        f"loop thread busy {spy['loop_thread_busy_share']:.0%}; top self frames: {top}; "
        f"own code (inclusive): {own}"
    )
