"""The server's collector settings: start-up heap frozen, full collections made rarer."""

from __future__ import annotations

import gc

from aiohttp import web

from handlers.keys import CONFIG
from server.app import tune_gc
from server.config import load_config


async def test_tune_gc_freezes_the_startup_heap_and_sets_the_thresholds() -> None:
    config = load_config(
        env={}, overrides={"server": {"gc_young_threshold": 5000, "gc_full_every": 50}}
    )
    app = web.Application()
    app[CONFIG] = config
    before = gc.get_threshold()
    try:
        await tune_gc(app)
        assert gc.get_threshold() == (5000, before[1], 50)
        assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
