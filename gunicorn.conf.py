"""gunicorn settings for FluentPro (gunicorn reads ./gunicorn.conf.py by itself):

    gunicorn server.gunicorn_app:app          # from the project directory
    gunicorn -c /path/to/gunicorn.conf.py server.gunicorn_app:app

Listens on FLUENTPRO_HOST:FLUENTPRO_PORT with FLUENTPRO_WORKERS processes (default 2).
Sets up Prometheus multi-process mode so ``/metrics`` on any worker sums every worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

# Before any worker exists (and before prometheus_client is imported anywhere: it picks its
# value storage at import time), every process must see the same metrics directory.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="fluentpro-metrics-")

# The uvloop worker: the same event loop `python -m server` uses (server.event_loop).
worker_class = "aiohttp.GunicornUVLoopWebWorker"
bind = f"{os.environ.get('FLUENTPRO_HOST', '127.0.0.1')}:{os.environ.get('FLUENTPRO_PORT', '8080')}"
workers = int(os.environ.get("FLUENTPRO_WORKERS", "2"))
graceful_timeout = 10  # the app's own server.shutdown_grace_s default
timeout = 30


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone (even killed): its live gauges leave the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
