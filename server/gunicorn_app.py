"""Entry point for gunicorn's aiohttp worker.

    gunicorn server.gunicorn_app:app --worker-class aiohttp.GunicornWebWorker \
        --workers 4 --bind 127.0.0.1:8080 --graceful-timeout 10

Set FLUENTPRO_DATABASE_URL and FLUENTPRO_REDIS_URL so every worker uses the same servers.
"""

from __future__ import annotations

from aiohttp import web

from server.app import create_app
from server.config import load_config
from services.observability.logs import configure_logging


async def app() -> web.Application:
    """Build one worker's application from config.yaml and the environment."""
    config = load_config()
    configure_logging(config.logging.level, json_lines=config.logging.json)
    return create_app(config)
