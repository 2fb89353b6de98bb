"""create_app(config): the one aiohttp application serving REST, SSE and WebSocket."""

from __future__ import annotations

import gc

from aiohttp import web

from handlers.config import Config
from handlers.keys import CONFIG
from handlers.middlewares import MIDDLEWARES
from server.ctx_accounts import accounts_ctx
from server.ctx_activity import activity_ctx
from server.ctx_career import career_ctx
from server.ctx_observability import metrics_ctx, observability_ctx
from server.ctx_ops import ops_ctx
from server.ctx_realtime import setup_realtime
from server.ctx_tasks import tasks_ctx
from server.resources import cpu_pool_ctx, database_ctx, redis_ctx
from server.routes import setup_routes
from services import aio_compat


def create_app(config: Config) -> web.Application:
    """Build the application. Synchronous and free of I/O: resources open in cleanup_ctx."""
    aio_compat.install()  # before any client exists: the libraries' wait_for keeps cancels
    app = web.Application(
        middlewares=MIDDLEWARES,
        client_max_size=config.server.body_limit_bytes,
        # GET /recommendations/roles carries up to 20,000 characters in its query string.
        handler_args={"max_line_size": 128 * 1024},
    )
    app[CONFIG] = config
    # Dependency order: each context may use what the previous ones opened.
    app.cleanup_ctx.append(metrics_ctx)
    app.cleanup_ctx.append(cpu_pool_ctx)
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(accounts_ctx)  # needs cpu pool, database, redis
    app.cleanup_ctx.append(career_ctx)  # catalog, engine, AI gateway; needs the same
    setup_realtime(app)  # loop monitor, event bus + hub; needs database, redis
    app.cleanup_ctx.append(activity_ctx)  # needs database and the event bus
    app.cleanup_ctx.append(tasks_ctx)  # needs database, event bus, career; runs the worker
    app.cleanup_ctx.append(ops_ctx)  # breakers, chat, metric sources; needs all above
    app.cleanup_ctx.append(observability_ctx)  # lag histogram, shedder, shared figures
    if config.server.gc_freeze:
        app.on_startup.append(tune_gc)  # runs after every cleanup_ctx start
    setup_routes(app)
    return app


async def tune_gc(app: web.Application) -> None:
    """Move everything built at start-up (catalog, indexes, modules) out of the GC's reach,
    so full collections scan only what requests create; and make them rarer: with thousands
    of connections open, each full collection stops the loop for 100+ ms."""
    server = app[CONFIG].server
    gc.collect()
    gc.freeze()
    _, middle, _ = gc.get_threshold()
    gc.set_threshold(server.gc_young_threshold, middle, server.gc_full_every)
