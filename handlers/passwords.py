"""Password routes: strength analysis and generation (API.md "Passwords").

The password in a request is handed to the CPU pool and answered; it is never logged,
stored or cached. Both routes work with or without a session and are rate limited.
"""

from __future__ import annotations

from aiohttp import web

from handlers.clients import limit_per_client
from handlers.common import api, json_response, load_body
from handlers.keys import PASSWORDS
from handlers.schemas.accounts import (
    AnalysisSchema,
    AnalyzeBodySchema,
    GenerateBodySchema,
    GeneratedSchema,
)

TAGS = ("passwords",)


@api(
    "Analyse a password's strength",
    body=AnalyzeBodySchema,
    response=AnalysisSchema,
    auth=False,
    tags=TAGS,
    errors=(400, 415, 422, 429),
)
async def analyze(request: web.Request) -> web.Response:
    await limit_per_client(request, "passwords")
    body = await load_body(request, AnalyzeBodySchema)
    result = await request.app[PASSWORDS].analyze_async(body["password"], body.get("context"))
    return json_response(result)


@api(
    "Generate a strong password or passphrase",
    body=GenerateBodySchema,
    response=GeneratedSchema,
    auth=False,
    tags=TAGS,
    errors=(400, 415, 422, 429),
)
async def generate(request: web.Request) -> web.Response:
    await limit_per_client(request, "passwords")
    body = await load_body(request, GenerateBodySchema) if request.body_exists else {}
    args = {k: body[k] for k in ("style", "length", "words", "context") if k in body}
    result = await request.app[PASSWORDS].generate_async(**args)
    return json_response(result)
