"""GET /api/v1/export: the user's data as NDJSON, streamed from one database snapshot."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from handlers.common import api, current_user, dumps_line
from handlers.stream_write import write_or_drop
from server.keys import CONFIG, EXPORT, REQUEST_ID
from services.export import export_filename
from services.export_guard import ExportGuard

log = logging.getLogger(__name__)

TAGS = ("export",)
EXPORT_GUARD = web.AppKey("export_guard", ExportGuard)


@api(
    "Export all my data as NDJSON (profile, session, interaction, recommendation, "
    "learning_path, task lines, then an end line with counts)",
    content_type="application/x-ndjson",
    tags=TAGS,
    errors=(401, 429, 503),
)
async def export(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    # One export per user at a time, within the per-process connection budget (429 / 503
    # before the stream starts); a client that stops reading is dropped after
    # events.send_timeout_s and its snapshot rolled back.
    async with request.app[EXPORT_GUARD].slot(user.id) as renew:
        return await _stream(request, user.id, renew)


async def _stream(
    request: web.Request, user_id: str, renew: Callable[[], Awaitable[None]]
) -> web.StreamResponse:
    timeout_s = request.app[CONFIG].events.send_timeout_s
    resp = web.StreamResponse(
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename()}"',
            "Cache-Control": "no-store",
            "X-Request-ID": request.get(REQUEST_ID, "-"),
        }
    )
    resp.content_type = "application/x-ndjson"
    resp.charset = "utf-8"
    await resp.prepare(request)
    try:
        # aclosing: leaving early rolls the snapshot back and frees its connection at once.
        async with contextlib.aclosing(request.app[EXPORT].export(user_id)) as chunks:
            async for chunk in chunks:
                await write_or_drop(request, resp, chunk, timeout_s)
                await renew()
    except ConnectionResetError:
        log.info("export client went away or stopped reading; snapshot released")
        return resp
    except Exception:
        log.exception("export failed mid-stream")
        error = {"message": "The export failed; retry it.", "fallback_available": False}
        with contextlib.suppress(ConnectionResetError):
            await resp.write(dumps_line({"error": error}))
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp
