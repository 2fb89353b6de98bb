"""Domain and infrastructure services (no aiohttp request/response types here)."""

from services import redis_compat

redis_compat.install()
