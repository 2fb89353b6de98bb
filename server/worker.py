"""``python -m server.worker``: a task worker process, on any host pointed at the same
PostgreSQL and Redis as the servers.

It builds the same application as the server (so the same cleanup contexts open the
same resources in the same order) with the in-process worker forced on, starts it
without any HTTP site, and runs until SIGTERM/SIGINT; then running jobs get
``tasks.shutdown_grace_s`` to finish before they are handed back to the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from handlers.config import Config
from server.config import ConfigError, load_config
from services import aio_compat
from services.observability.logs import configure_logging

log = logging.getLogger("fluentpro.worker")


async def run_worker(config: Config, *, ready_line: bool = True) -> None:
    """Start the application's contexts (worker included) and wait for a stop signal."""
    from server.app import create_app

    app = create_app(config.replace(tasks={"in_process_worker": True}))
    runner = web.AppRunner(app, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    try:
        if ready_line:
            print("FluentPro worker: ready", flush=True)
        await stop.wait()
        log.info("worker stopping")
    finally:
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.worker", description=__doc__)
    parser.add_argument("--config", help="path to config.yaml (default: the project's)")
    parser.add_argument("--concurrency", type=int, help="jobs run at once by this process")
    args = parser.parse_args(argv)
    try:
        overrides = {"tasks": {"concurrency": args.concurrency}} if args.concurrency else None
        config = load_config(args.config, overrides=overrides)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(config.logging.level, json_lines=config.logging.json)
    aio_compat.install()
    from server.cli import resolve_services

    config, keep = resolve_services(config)
    try:
        asyncio.run(run_worker(config))
    finally:
        del keep
    return 0


if __name__ == "__main__":
    sys.exit(main())
