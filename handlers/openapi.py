"""The OpenAPI document, generated from the routes and the schemas their handlers use."""

from __future__ import annotations

import html
import re
from typing import Any

from aiohttp import web
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from handlers.common import ApiDoc

_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")
_REASONS = {
    400: "Malformed request",
    401: "Missing or invalid credentials",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    415: "Wrong content type",
    422: "Invalid fields",
    429: "Rate limited",
    503: "A dependency is unavailable",
}


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    request_id = fields.String()
    errors = fields.Dict()


def _schema_name(schema: type[Schema] | Schema) -> str:
    # apispec passes classes for top-level schemas and instances for fields.Nested ones.
    name = (schema if isinstance(schema, type) else type(schema)).__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def _operation(route: web.AbstractRoute, doc: ApiDoc | None) -> dict[str, Any]:
    if doc is None:
        return {
            "summary": route.name or route.handler.__name__,
            "responses": {"200": {"description": "OK"}},
        }
    op: dict[str, Any] = {
        "summary": doc.summary,
        "operationId": route.name or route.handler.__name__,
    }
    if doc.tags:
        op["tags"] = list(doc.tags)
    params: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(route.resource.canonical if route.resource else "")
    ]
    if doc.query is not None:
        params.append({"in": "query", "schema": doc.query})
    if params:
        op["parameters"] = params
    if doc.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": doc.body}},
        }
    ok: dict[str, Any] = {"description": "Success"}
    if doc.response is not None:
        ok["content"] = {doc.content_type: {"schema": doc.response}}
    elif doc.content_type != "application/json":
        ok["content"] = {doc.content_type: {"schema": {"type": "string"}}}
    responses: dict[str, Any] = {str(doc.status): ok}
    codes = set(doc.errors) | {400}  # aiohttp answers 400 to a malformed request line/header
    if doc.body is not None:
        codes |= {400, 413, 415, 422}
    if doc.query is not None:
        codes.add(422)
    if doc.auth:
        codes.add(401)
        op["security"] = [{"bearer": []}, {"cookie": []}]
    if doc.admin:
        codes.add(403)
    for code in sorted(codes):
        content: dict[str, Any] = {"application/problem+json": {"schema": ProblemSchema}}
        if code == 400:
            # A request line or header the HTTP parser refuses (e.g. a query string over
            # 128 KiB) is answered by aiohttp itself, before any middleware, in plain text.
            content["text/plain"] = {"schema": {"type": "string"}}
        responses[str(code)] = {"description": _REASONS.get(code, "Error"), "content": content}
    op["responses"] = responses
    return op


def build_openapi(app: web.Application) -> dict[str, Any]:
    """An OpenAPI 3.1 document covering every registered route."""
    spec = APISpec(
        title="FluentPro API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "Career growth backend: REST, NDJSON, SSE and WebSocket."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme(
        "cookie", {"type": "apiKey", "in": "cookie", "name": "fp_session"}
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        if route.method in ("HEAD", "*") or route.resource is None:
            continue
        path = route.resource.canonical
        if path.startswith("/static") or path == "/":
            continue
        doc = getattr(route.handler, "__api__", None)
        paths.setdefault(_PARAM.sub(r"{\1}", path), {})[route.method.lower()] = _operation(
            route, doc
        )
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def render_docs_html(document: dict[str, Any]) -> str:
    """A plain, script-free page listing every operation (fits the strict CSP)."""
    rows = []
    for path, ops in document.get("paths", {}).items():
        for method, op in ops.items():
            rows.append(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>".format(
                    method.upper(),
                    html.escape(path),
                    html.escape(op.get("summary", "")),
                    ", ".join(sorted(op.get("responses", {}))),
                )
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>FluentPro API</title><link rel='stylesheet' href='/static/docs.css'></head>"
        "<body><main><h1>FluentPro API v1</h1>"
        "<p>Machine-readable: <a href='/api/openapi.json'>/api/openapi.json</a> (OpenAPI "
        f"{html.escape(document.get('openapi', ''))}).</p>"
        "<table><thead><tr><th>Method</th><th>Path</th><th>Summary</th><th>Responses</th></tr>"
        "</thead><tbody>" + "".join(rows) + "</tbody></table></main></body></html>"
    )
