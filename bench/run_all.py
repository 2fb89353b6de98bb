"""Run every benchmark, each against its baseline in the same run; write one report.

    make bench            # or: python -m bench.run_all [--only api,bcrypt] [--quick]

Each benchmark runs as its own process with a time limit and writes
bench/results/<name>.json; this script gathers them into bench/results/latest.json and
bench/results/latest.md and prints which goals hold.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from bench.common import RESULTS, ROOT, machine_info

# name → (command, time limit in seconds). Every command writes RESULTS/<name>.json.
BENCHMARKS: dict[str, tuple[list[str], int]] = {
    "api": (["-m", "bench.bench_api", "--out", "api"], 240),
    "bcrypt": (["bench/bench_bcrypt.py", "--out", "bench/results/bcrypt.json"], 120),
    "login": (["bench/bench_login.py"], 180),  # writes bench/results/login.json
    "breaker": (["bench/bench_breaker.py", "--out", "bench/results/breaker.json"], 120),
    "recommendations": (["-m", "bench.bench_recommendations", "--out", "recommendations"], 240),
    "answers": (["-m", "bench.bench_answers", "--out", "answers"], 300),
    "fanout": (["bench/bench_fanout.py", "--clients", "5000"], 600),
    "export": (["bench/bench_export.py", "--out", "bench/results/export.json"], 300),
    "tasks": (["-m", "bench.bench_tasks", "--out", "tasks"], 300),
    "mixed": (["-m", "bench.bench_mixed", "--out", "mixed"], 300),
    "security": (["-m", "bench.bench_security", "--out", "security"], 300),
    "user_channels": (["bench/bench_user_channels.py"], 600),  # bench/results/user_channels.json
}


def _goals(data: Any, prefix: str = "") -> dict[str, bool]:
    """Every boolean under a "goals" mapping, flattened with dotted names."""
    found: dict[str, bool] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "goals" and isinstance(value, dict):
                for goal, ok in value.items():
                    if isinstance(ok, bool):
                        found[f"{prefix + '.' if prefix else ''}{goal}"] = ok
                    elif isinstance(ok, dict) and isinstance(ok.get("met"), bool):
                        found[f"{prefix + '.' if prefix else ''}{goal}"] = ok["met"]
            else:
                found.update(_goals(value, name))
    return found


def run_one(name: str, command: list[str], limit: int) -> dict[str, Any]:
    out = RESULTS / f"{name}.json"
    script = ROOT / command[0]
    if command[0] != "-m" and not script.exists():
        return {"status": "missing", "detail": f"{command[0]} not found"}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=limit
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "detail": f"over {limit}s"}
    elapsed = round(time.monotonic() - started, 1)
    if not out.exists() or out.stat().st_mtime < time.time() - elapsed - 5:
        return {"status": "failed", "exit": done.returncode, "detail": done.stderr[-1500:]}
    data = json.loads(out.read_text())
    return {"status": "ok", "exit": done.returncode, "seconds": elapsed, "result": data}


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# FluentPro benchmarks",
        "",
        f"Run at {report['machine']['time']} on "
        f"{report['machine']['cpus']} CPUs, Python {report['machine']['python']}.",
        "",
        "| benchmark | goal | holds |",
        "|---|---|---|",
    ]
    for name, entry in report["benchmarks"].items():
        goals = entry.get("goals") or {}
        if not goals:
            lines.append(f"| {name} | ({entry['status']}) | — |")
        for goal, ok in goals.items():
            lines.append(f"| {name} | {goal} | {'yes' if ok else '**no**'} |")
    explained = [
        (name, _explanation(entry.get("result") or {}))
        for name, entry in report["benchmarks"].items()
        if not all((entry.get("goals") or {}).values())
    ]
    if explained:
        lines += ["", "## Missed goals: by how much, and the profile that explains it", ""]
        lines += [f"- **{name}**: {text or '(none recorded)'}" for name, text in explained]
    return "\n".join(lines) + "\n"


def _explanation(result: dict[str, Any]) -> str:
    """A benchmark's own account of its misses: ``misses`` entries or its ``notes``."""
    parts = [
        f"{m['goal']} = {m['value']} (target {m['target']}, missed by {m['missed_by']}); "
        f"profile: {m.get('profile', 'none')}"
        for m in result.get("misses") or []
    ]
    if result.get("notes"):
        parts.append(str(result["notes"]))
    return " ".join(parts)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    args = p.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    report: dict[str, Any] = {"machine": machine_info(), "benchmarks": {}}
    latest = RESULTS / "latest.json"
    if args.only and latest.exists():  # a partial run updates the last full report
        report["benchmarks"] = json.loads(latest.read_text()).get("benchmarks", {})
    for name in chosen:
        command, limit = BENCHMARKS[name]
        print(f"== {name} …", flush=True)
        entry = run_one(name, command, limit)
        entry["goals"] = _goals(entry.get("result", {}))
        report["benchmarks"][name] = entry
        for goal, ok in entry["goals"].items():
            print(f"   {'OK  ' if ok else 'MISS'} {goal}")
        if entry["status"] != "ok":
            print(f"   {entry['status']}: {entry.get('detail', '')[:300]}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    (RESULTS / "latest.md").write_text(markdown(report))
    missed = [
        f"{n}.{g}"
        for n, e in report["benchmarks"].items()
        for g, ok in e["goals"].items()
        if not ok
    ]
    print(f"\nwritten {RESULTS / 'latest.json'} and latest.md; goals missed: {len(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
