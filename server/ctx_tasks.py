"""The tasks cleanup context: TaskService always; the in-process worker when configured.

Needs the database, the event bus and (optionally) the career service, so it is
registered after them. ``python -m server.worker`` runs the same context with the
worker forced on and no HTTP site.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from db.catalog_seed import fetch_catalog_rows
from db.jobs import make_connector
from handlers.keys import (
    CAREER,
    CONFIG,
    CPU_POOL,
    DB,
    EVENT_BUS,
    TASK_COUNTS,
    TASK_OUTCOMES,
    TASK_WORKER,
    TASKS,
)
from services.career.engine import LocalCareerEngine
from services.tasks.career import CareerSteps
from services.tasks.engine_pool import EnginePool
from services.tasks.runner import TaskRunner
from services.tasks.service import TaskService
from services.tasks.store import TaskStore
from services.tasks.worker import TaskWorker

log = logging.getLogger(__name__)


def _career_steps(app: web.Application, engine_pool: EnginePool | None) -> CareerSteps:
    """The career service when the app has one, else the local engine over the seed catalog."""
    service = app.get(CAREER)
    if service is not None:
        engine = service.local.engine
        if not isinstance(engine, LocalCareerEngine):
            raise TypeError("the career service's local engine is not a LocalCareerEngine")
    else:
        from services.career.catalog import load_seed_catalog

        engine = LocalCareerEngine(load_seed_catalog())
    return CareerSteps(
        db=app[DB],
        engine=engine,
        service=service,
        cpu_pool=app[CPU_POOL],
        engine_pool=engine_pool,
    )


def _engine_pool(app: web.Application) -> EnginePool | None:
    """Worker processes for bulk local-engine work, unless an AI provider answers."""
    processes = app[CONFIG].tasks.engine_processes
    service = app.get(CAREER)
    if processes == 0 or (service is not None and service.gateway.provider is not None):
        return None
    db = app[DB]
    return EnginePool(lambda: fetch_catalog_rows(db), processes=processes)


async def tasks_ctx(app: web.Application) -> AsyncIterator[None]:
    """TaskService under TASKS; a running TaskWorker under TASK_WORKER when enabled."""
    config = app[CONFIG]
    cfg = config.tasks
    db = app[DB]
    store = TaskStore(db, app[EVENT_BUS])
    service = TaskService(db, store, tasks_per_user=config.limits.tasks_per_user)
    app[TASKS] = service
    app[TASK_COUNTS] = service.counts
    app[TASK_OUTCOMES] = store.finished
    worker: TaskWorker | None = None
    engine_pool: EnginePool | None = None
    if cfg.in_process_worker:
        engine_pool = _engine_pool(app)
        runner = TaskRunner(
            store,
            _career_steps(app, engine_pool),
            timeout_s=cfg.timeout_s,
            batch_concurrency=cfg.batch_concurrency,
            item_timeout_s=config.ai.deadline_s + 5,
        )
        worker = TaskWorker(
            connector=make_connector(db.settings, maxsize=cfg.concurrency + 3),
            runner=runner,
            store=store,
            db=db,
            concurrency=cfg.concurrency,
            stalled_after_s=cfg.stalled_after_s,
            max_retries=cfg.max_retries,
            retry_backoff_s=cfg.retry_backoff_s,
            shutdown_grace_s=cfg.shutdown_grace_s,
            name=f"fluentpro-{socket.gethostname()}-{os.getpid()}",
        )
        await worker.start()
        app[TASK_WORKER] = worker
        log.info("task worker started (concurrency %s)", cfg.concurrency)
    try:
        yield
    finally:
        if worker is not None:
            await worker.stop()
        if engine_pool is not None:
            await engine_pool.close()
