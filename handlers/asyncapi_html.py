"""The AsyncAPI document as a page for people (``/api/docs/events``): server-rendered,
script-free (the strict CSP holds), every channel, message and payload field."""

from __future__ import annotations

from html import escape
from typing import Any

NAV = (
    "<nav class='fp-docs-nav' aria-label='API documentation'><strong>FluentPro API</strong>"
    "<a href='/api/docs'{rest}>REST (OpenAPI)</a>"
    "<a href='/api/docs/events'{events}>Events: SSE and WebSocket (AsyncAPI)</a>"
    "<a href='/api/openapi.json'>openapi.json</a><a href='/api/asyncapi.json'>asyncapi.json</a>"
    "</nav>"
)


def nav(current: str) -> str:
    mark = " aria-current='page'"
    return NAV.format(rest=mark if current == "rest" else "", events=mark if current else "")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = _ref_name(prop["$ref"])
        return f"<a href='#schema-{escape(name)}'>{escape(name)}</a>"
    if "allOf" in prop and len(prop["allOf"]) == 1:
        return _type(prop["allOf"][0])
    kind = prop.get("type", "any")
    text = " | ".join(kind) if isinstance(kind, list) else str(kind)
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"array of {_type(prop['items'])}"
    extra = [escape(text)]
    if "format" in prop:
        extra.append(f"({escape(str(prop['format']))})")
    if "enum" in prop:
        extra.append("one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in prop["enum"]))
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤")):
        if key in prop:
            extra.append(f"{label} {escape(str(prop[key]))}")
    return " ".join(extra)


def _fields(schema: dict[str, Any]) -> str:
    props: dict[str, Any] = schema.get("properties", {})
    if not props:
        return "<p>Any JSON object.</p>"
    required = set(schema.get("required", ()))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{_type(prop)}</td>"
        f"<td>{'yes' if name in required else ''}</td>"
        f"<td>{escape(str(prop.get('description', '')))}</td></tr>"
        for name, prop in props.items()
    )
    return (
        "<table><thead><tr><th>field</th><th>type</th><th>required</th><th>about</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _direction(doc: dict[str, Any], channel: str, message: str) -> str:
    for op in doc["operations"].values():
        if op["channel"]["$ref"] == f"#/channels/{channel}" and any(
            m["$ref"].endswith(f"/messages/{message}") for m in op["messages"]
        ):
            return "server → client" if op["action"] == "send" else "client → server"
    return ""


def render_asyncapi_html(doc: dict[str, Any]) -> str:
    """The whole page for one AsyncAPI document."""
    schemas: dict[str, Any] = doc["components"]["schemas"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>FluentPro events (AsyncAPI)</title>",
        "<link rel='stylesheet' href='/static/docs.css'></head><body>",
        nav("events"),
        "<main class='fp-events'>",
        f"<h1>{escape(doc['info']['title'])}</h1>",
        f"<p>{escape(doc['info']['description'])}</p>",
        f"<p>AsyncAPI {escape(doc['asyncapi'])}: <a href='/api/asyncapi.json'>"
        "/api/asyncapi.json</a>.</p>",
    ]
    for key, channel in doc["channels"].items():
        parts.append(f"<h2 id='channel-{escape(key)}'>{escape(channel['title'])}</h2>")
        for para in channel.get("description", "").split("\n\n"):
            lines = para.split("\n")
            items = [ln[2:] for ln in lines if ln.startswith("- ")]
            text = " ".join(ln for ln in lines if not ln.startswith("- "))
            if text:
                parts.append(f"<p>{escape(text)}</p>")
            if items:
                parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
        for mkey, message in channel["messages"].items():
            payload = message["payload"]
            name = _ref_name(payload["$ref"])
            direction = _direction(doc, key, mkey)
            parts.append(
                f"<h3><code>{escape(message['name'])}</code> "
                f"<span class='fp-dir'>{escape(direction)}</span></h3>"
            )
            if message.get("summary"):
                parts.append(f"<p>{escape(message['summary'])}</p>")
            parts.append(_fields(schemas.get(name, {})))
    parts.append("<h2 id='schemas'>Payload schemas</h2>")
    for name, schema in schemas.items():
        parts.append(f"<h3 id='schema-{escape(name)}'><code>{escape(name)}</code></h3>")
        parts.append(_fields(schema))
    parts.append("</main></body></html>")
    return "".join(parts)
