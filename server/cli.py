"""Command line: serve (default), ``migrate``, ``create-admin EMAIL``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from functools import partial

from aiohttp import web

from handlers.config import Config
from server import infra
from server.config import ConfigError, load_config
from services import aio_compat
from services.observability.logs import configure_logging

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
    log.info("PostgreSQL (%s): %s", pg.how, infra.describe(pg.url))
    print(f"FluentPro: PostgreSQL ({pg.how}) {infra.describe(pg.url)}", flush=True)
    if config.redis.topology != "single":  # Sentinel or Cluster: configured, never located
        from server.resources import topology_of  # lazily: it imports every service

        where = topology_of(config.redis).describe()
        log.info("Redis (configured): %s", where)
        print(f"FluentPro: Redis (configured) {where}", flush=True)
        return config, [pg]
    rd = infra.locate_redis(config.redis.url, 1, var)
    log.info("Redis (%s): %s", rd.how, infra.describe(rd.url))
    print(f"FluentPro: Redis ({rd.how}) single {infra.describe(rd.url)}", flush=True)
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
    """Run ``workers`` processes on one port (SO_REUSEPORT); a dead one is replaced.

    The workers are forks of this process, made after the whole application has been
    imported here once: a replacement serves in well under a second, where a fresh
    interpreter spent 7 s importing on a loaded 2-core machine.
    """
    # Prometheus multi-process mode: every worker writes its figures here and /metrics sums
    # them. Set before prometheus_client is first imported: it picks its storage then.
    metrics_dir = infra.var_dir() / f"prometheus-{os.getpid()}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    from prometheus_client import multiprocess

    import server.app  # noqa: F401  (imported once, shared by every fork)
    from server.supervisor import ForkedWorker, Supervisor

    def start() -> ForkedWorker:
        return ForkedWorker(partial(serve, config))

    try:
        # A killed worker never ran its own clean-up: drop its live gauges from the sums.
        on_death = partial(
            multiprocess.mark_process_dead, path=os.environ["PROMETHEUS_MULTIPROC_DIR"]
        )
        return Supervisor(start, workers, on_death=on_death).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


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
    aio_compat.install()

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
