"""GET /api/v1/export: the user's data as NDJSON, streamed from one database snapshot."""

from __future__ import annotations

import contextlib
import logging

from aiohttp import web

from handlers.common import api, current_user, dumps_line
from handlers.keys import EXPORT, REQUEST_ID
from services.export import export_filename

log = logging.getLogger(__name__)

TAGS = ("export",)


@api(
    "Export all my data as NDJSON (profile, session, interaction, recommendation, "
    "learning_path, task lines, then an end line with counts)",
    content_type="application/x-ndjson",
    tags=TAGS,
    errors=(401, 503),
)
async def export(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
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
        async with contextlib.aclosing(request.app[EXPORT].export(user.id)) as chunks:
            async for chunk in chunks:
                await resp.write(chunk)
    except ConnectionResetError:
        log.info("export client went away; snapshot released")
        return resp
    except Exception:
        log.exception("export failed mid-stream")
        error = {"message": "The export failed; retry it.", "fallback_available": False}
        with contextlib.suppress(ConnectionResetError):
            await resp.write(dumps_line({"error": error}))
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp
