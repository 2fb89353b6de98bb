"""Command line: serve (default), ``migrate``, ``create-admin EMAIL``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

from aiohttp import web

from server import infra
from server.config import Config, ConfigError, load_config
from server.logs import configure_logging

log = logging.getLogger("fluentpro")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server", description="FluentPro backend")
    p.add_argument("--config", help="path to config.yaml (default: the project's)")
    sub = p.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve HTTP (the default)")
    for target in (p, serve):
        target.add_argument("--host")
        target.add_argument("--port", type=int)
        target.add_argument("--workers", type=int, help="processes sharing the port (SO_REUSEPORT)")
    sub.add_parser("migrate", help="apply the database migrations and exit")
    admin = sub.add_parser("create-admin", help="create an administrator (password on stdin)")
    admin.add_argument("email")
    admin.add_argument("--display-name", default="Administrator")
    admin.add_argument(
        "--promote-existing",
        action="store_true",
        help="promote an account that already exists (its sessions are all revoked)",
    )
    return p


def resolve_services(config: Config) -> tuple[Config, list[infra.Located]]:
    """Find PostgreSQL and Redis (configured, local, else embedded) and say which."""
    var = infra.var_dir()
    pg = infra.locate_postgres(config.database.url, "", var)
    rd = infra.locate_redis(config.redis.url, 1, var)
    log.info("PostgreSQL (%s): %s", pg.how, infra.describe(pg.url))
    log.info("Redis (%s): %s", rd.how, infra.describe(rd.url))
    print(f"FluentPro: PostgreSQL ({pg.how}) {infra.describe(pg.url)}", flush=True)
    print(f"FluentPro: Redis ({rd.how}) {infra.describe(rd.url)}", flush=True)
    return config.replace(database={"url": pg.url}, redis={"url": rd.url}), [pg, rd]


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """uvloop when configured and installed (about 25 % more requests/s), else asyncio."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop is not installed; using the asyncio event loop")
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def serve(config: Config) -> int:
    """Run one server process until SIGINT/SIGTERM; in-flight requests get the grace period."""
    from server.app import create_app

    print(
        f"FluentPro: serving on http://{config.server.host}:{config.server.port}/ (Ctrl-C to stop)",
        flush=True,
    )
    web.run_app(
        create_app(config),
        loop=new_event_loop(config.server.event_loop),
        host=config.server.host,
        port=config.server.port,
        shutdown_timeout=config.server.shutdown_grace_s,
        reuse_port=config.server.workers > 1 or None,
        access_log=None,
        print=None,
        handle_signals=True,
    )
    return 0


def serve_many(config: Config, workers: int) -> int:
    """Start ``workers`` processes on one port (SO_REUSEPORT) and supervise them."""
    env = dict(os.environ)
    env.update(
        FLUENTPRO_DATABASE_URL=config.database.url,
        FLUENTPRO_REDIS_URL=config.redis.url,
        FLUENTPRO_HOST=config.server.host,
        FLUENTPRO_PORT=str(config.server.port),
        FLUENTPRO_WORKERS=str(workers),
        FLUENTPRO_WORKER_CHILD="1",
    )
    # Prometheus multi-process mode: every child writes its figures here; /metrics sums them.
    metrics_dir = infra.var_dir() / f"prometheus-{os.getpid()}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    children = [
        subprocess.Popen([sys.executable, "-m", "server", "serve"], env=env) for _ in range(workers)
    ]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [child.wait() for child in children]
    shutil.rmtree(metrics_dir, ignore_errors=True)
    return max(codes, default=0)


async def _migrate(config: Config) -> list[str]:
    from db.migrate import apply_migrations
    from db.pool import Database, PoolSettings

    db = await Database.connect(PoolSettings(dsn=config.database.url, minsize=1, maxsize=2))
    try:
        return await apply_migrations(db)
    finally:
        await db.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
        overrides = {
            k: v
            for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers))
            if v is not None
        }
        if overrides:
            config = load_config(args.config, overrides={"server": overrides})
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.logging.level, json_lines=config.logging.json)

    if os.environ.get("FLUENTPRO_WORKER_CHILD") == "1":
        return serve(config)
    config, keep = resolve_services(config)
    command = args.command or "serve"
    if command == "migrate":
        applied = asyncio.run(_migrate(config))
        print(f"migrations applied: {', '.join(applied) or 'none (up to date)'}")
        return 0
    if command == "create-admin":
        from server.admin import create_admin

        return create_admin(
            config, args.email, args.display_name, sys.stdin, promote=args.promote_existing
        )
    if config.server.workers > 1:
        code = serve_many(config, config.server.workers)
    else:
        code = serve(config)
    del keep
    return code
