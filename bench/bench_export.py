"""Export benchmark: GET /api/v1/export of a user with 1,000,000 interactions vs. COPY.

Usage::

    python bench/bench_export.py [--out bench/results/export.json] [--rows 1000000] [--runs 2]

Steps (bounded to a few minutes): a database of its own (``fluentpro_bench_export``,
dropped at the end), the server in a separate process (``python -m server``), one
registered user whose interactions are inserted with ``INSERT … SELECT generate_series``.

(a) baseline: ``COPY (SELECT row_to_json(i) FROM (…interactions of the user…) i) TO STDOUT``
    through psycopg2 ``copy_expert`` into a line-counting sink → rows/s.
(b) export: the NDJSON export over HTTP, read by this process in 64 KiB chunks, lines
    counted → rows/s; meanwhile the server's RSS is sampled from ``/proc`` every 20 ms.

Goals: export rows/s ≥ 0.4 × COPY rows/s, server RSS growth ≤ 20 MB during the export.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import free_port, server_process  # noqa: E402
from server import infra  # noqa: E402

BENCH_DB = "fluentpro_bench_export"
REDIS_DB = 13
RATIO_GOAL = 0.4
RSS_GOAL_MB = 20.0
PASSWORD = "copper-lantern-orbit-meadow-42"

FILL = """
INSERT INTO interactions (user_id, type, value, payload, created_at)
SELECT %(u)s, (ARRAY['view','start','complete','skip','search'])[1 + g %% 5], g %% 100,
       jsonb_build_object('n', g, 'source', 'bench'),
       now() - make_interval(secs => g)
FROM generate_series(1, %(n)s) AS g
"""
COPY_SQL = """
COPY (SELECT row_to_json(i) FROM (
    SELECT id, type, course_id, value, payload, created_at
    FROM interactions WHERE user_id = {user}) i) TO STDOUT
"""


class LineSink:
    """A file-like sink for copy_expert that only counts lines and bytes."""

    def __init__(self) -> None:
        self.lines = 0
        self.bytes = 0

    def write(self, data: bytes | str) -> int:
        raw = data.encode() if isinstance(data, str) else data
        self.lines += raw.count(b"\n")
        self.bytes += len(raw)
        return len(raw)


def recreate_db(base: str) -> str:
    admin = psycopg2.connect(infra.with_database(base, "postgres"), connect_timeout=5)
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            ident = sql.Identifier(BENCH_DB)  # the benchmark's own database
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (BENCH_DB,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    finally:
        admin.close()
    return infra.with_database(base, BENCH_DB)


def drop_db(base: str) -> None:
    admin = psycopg2.connect(infra.with_database(base, "postgres"), connect_timeout=5)
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (BENCH_DB,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(BENCH_DB)))
    finally:
        admin.close()


def register(port: int) -> tuple[str, str]:
    body = json.dumps({"email": "bench-export@example.com", "password": PASSWORD}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/register",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        answer = json.loads(r.read())
    return answer["token"], answer["user"]["id"]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_copy(url: str, user_id: str) -> dict[str, float]:
    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            sink = LineSink()
            query = sql.SQL(COPY_SQL).format(user=sql.Literal(user_id)).as_string(conn)
            start = time.perf_counter()
            cur.copy_expert(query, sink)
            elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return {
        "rows": sink.lines,
        "seconds": elapsed,
        "rows_per_s": sink.lines / elapsed,
        "bytes": sink.bytes,
    }


def measure_export(port: int, token: str, pid: int) -> dict[str, Any]:
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(rss_mb(pid))
            stop.wait(0.02)

    before = rss_mb(pid)
    sampler = threading.Thread(target=sample, daemon=True)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lines = size = 0
    last = b""
    sampler.start()
    start = time.perf_counter()
    try:
        conn.request("GET", "/api/v1/export", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"export answered {resp.status}: {resp.read()[:500]!r}")
        while True:
            chunk = resp.read1(64 * 1024)
            if not chunk:
                break
            lines += chunk.count(b"\n")
            size += len(chunk)
            last = (last + chunk)[-4096:]
        elapsed = time.perf_counter() - start
    finally:
        stop.set()
        sampler.join()
        conn.close()
    end = json.loads(last.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    if end.get("type") != "end":
        raise RuntimeError(f"the export did not finish with an end line: {end!r}")
    peak = max(samples, default=before)
    return {
        "lines": lines,
        "interactions": end["counts"]["interaction"],
        "seconds": elapsed,
        "rows_per_s": lines / elapsed,
        "bytes": size,
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_growth_mb": round(peak - before, 1),
        "rss_samples": len(samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "export.json"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    var = infra.var_dir()
    pg = infra.locate_postgres(os.environ.get("FLUENTPRO_DATABASE_URL", ""), "", var)
    rd = infra.locate_redis(os.environ.get("FLUENTPRO_REDIS_URL", ""), REDIS_DB, var)
    base = pg.url
    url = recreate_db(base)
    port = free_port()
    env = {
        "FLUENTPRO_DATABASE_URL": url,
        "FLUENTPRO_REDIS_URL": rd.url,
        "FLUENTPRO_PORT": str(port),
        "FLUENTPRO_WORKERS": "1",
        "FLUENTPRO_PEPPER": "bench-pepper-not-a-secret",
        "FLUENTPRO_AUTH_BCRYPT_COST": "4",
        "FLUENTPRO_LOGGING_LEVEL": "WARNING",
    }
    started = time.perf_counter()
    try:
        with server_process(
            ["-m", "server"], env, health=f"http://127.0.0.1:{port}/health/live"
        ) as proc:
            token, user_id = register(port)
            conn = psycopg2.connect(url, connect_timeout=5)
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    t0 = time.perf_counter()
                    cur.execute(FILL, {"u": user_id, "n": args.rows})
                    cur.execute("ANALYZE interactions")
                    fill_s = time.perf_counter() - t0
            finally:
                conn.close()
            copies = [measure_copy(url, user_id) for _ in range(args.runs)]
            exports = [measure_export(port, token, proc.pid) for _ in range(args.runs)]
    finally:
        drop_db(base)

    best_copy = max(c["rows_per_s"] for c in copies)
    best_export = max(e["rows_per_s"] for e in exports)
    ratio = best_export / best_copy
    growth = max(e["rss_growth_mb"] for e in exports)
    result = {
        "benchmark": "export",
        "rows": args.rows,
        "fill_seconds": round(fill_s, 2),
        "copy_row_to_json": copies,
        "export_http_ndjson": exports,
        "copy_rows_per_s": round(best_copy),
        "export_rows_per_s": round(best_export),
        "ratio": round(ratio, 3),
        "ratio_goal": RATIO_GOAL,
        "rss_growth_mb": growth,
        "rss_goal_mb": RSS_GOAL_MB,
        "passed": ratio >= RATIO_GOAL and growth <= RSS_GOAL_MB,
        "goals": {
            "rows_per_s_ge_40pct_of_copy": ratio >= RATIO_GOAL,
            "rss_growth_le_20mb": growth <= RSS_GOAL_MB,
        },
        "total_seconds": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "notes": "server in its own process; client reads in 64 KiB chunks; best of runs",
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "copy_rows_per_s",
                    "export_rows_per_s",
                    "ratio",
                    "rss_growth_mb",
                    "passed",
                    "total_seconds",
                )
            }
        )
    )
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
