"""Request parsing and response helpers shared by every handler module."""

from __future__ import annotations

import base64
import functools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import orjson
from aiohttp import web
from marshmallow import RAISE, Schema, ValidationError

from handlers.fast_query import flat_loader
from server.keys import AUTH_USER
from services.auth_user import AuthUser
from services.errors import BadRequest, Unauthorized, UnsupportedMediaType, ValidationFailed

Handler = Callable[[web.Request], Any]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class ApiDoc:
    """What the OpenAPI generator needs to know about one handler."""

    summary: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    auth: bool = True
    admin: bool = False
    content_type: str = "application/json"
    tags: tuple[str, ...] = ()
    errors: tuple[int, ...] = field(default=())


def api(
    summary: str,
    *,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    status: int = 200,
    auth: bool = True,
    admin: bool = False,
    content_type: str = "application/json",
    tags: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
) -> Callable[[H], H]:
    """Attach OpenAPI metadata to a handler; the schemas named here are the ones it uses."""

    def mark(handler: H) -> H:
        handler.__api__ = ApiDoc(  # type: ignore[attr-defined]
            summary, body, query, response, status, auth, admin, content_type, tags, errors
        )
        return handler

    return mark


def _dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)


def _default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response serialised with orjson (datetimes as ISO 8601, UUIDs as strings)."""
    return web.Response(
        body=_dumps(data),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


def dumps_line(data: Any) -> bytes:
    """One NDJSON line."""
    return _dumps(data) + b"\n"


async def read_json(request: web.Request) -> Any:
    """The request body as JSON: 415 for another content type, 400 for malformed JSON."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    raw = await request.read()
    try:
        # NaN and Infinity are not JSON (RFC 8259); Python's parser accepts them unless told.
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant) if raw else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("The body is not valid JSON.") from None
    if isinstance(data, dict):  # another top-level type is refused (400) by validate()
        _check_storable(data)
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


MAX_JSON_DEPTH = 64
# Integers must fit the 64 bits that orjson (every response, cache and event) can write;
# a 27-digit one was accepted, stored, then failed to serialise: a 500.
_INT_RANGE = (-(2**63), 2**64 - 1)
_INT_TEXT = "Integers must fit in 64 bits."
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_TEXT = "NUL characters and unpaired surrogates are not allowed."


def _check_storable(data: Any) -> None:
    """422 for well-formed JSON that PostgreSQL cannot store: NUL characters and unpaired
    surrogates (valid JSON escapes, invalid in text/jsonb), and absurd nesting."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                raise ValidationFailed(
                    "Some fields are invalid.",
                    errors={where or "_schema": [_UNSTORABLE_TEXT]},
                )
        elif isinstance(value, int) and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            raise ValidationFailed(
                "Some fields are invalid.", errors={where or "_schema": [_INT_TEXT]}
            )
        elif isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise ValidationFailed(
                    "Some fields are invalid.",
                    errors={where or "_schema": [f"Nested deeper than {MAX_JSON_DEPTH} levels."]},
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                name = _UNSTORABLE.sub("\ufffd", str(key))  # the path is echoed in errors
                path = f"{where}.{name}" if where else name
                stack.append((key, depth + 1, where))
                stack.append((item, depth + 1, path))


def check_storable(data: Any) -> None:
    """422 (ValidationFailed) for JSON that cannot be stored or echoed: NUL characters,
    unpaired surrogates, integers beyond 64 bits, absurd nesting. Every JSON entry point
    (REST bodies, WebSocket messages) runs it."""
    _check_storable(data)


@functools.cache
def schema_for(schema_cls: type[Schema]) -> Schema:
    """One shared instance per schema class (unknown fields refused): building a marshmallow
    schema deep-copies its fields, and loading with it keeps no state between calls."""
    return schema_cls(unknown=RAISE)


def validate(schema_cls: type[Schema], data: Any, *, partial: bool = False) -> dict[str, Any]:
    """Validate data against a schema; 422 with per-field messages, unknown fields refused."""
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    try:
        return dict(schema_for(schema_cls).load(data, partial=partial))
    except ValidationError as exc:
        raise ValidationFailed("Some fields are invalid.", errors=_messages(exc)) from None


def _messages(exc: ValidationError) -> dict[str, Any]:
    msgs = exc.messages
    if isinstance(msgs, dict):
        return msgs
    return {"_schema": list(msgs) if isinstance(msgs, list) else [str(msgs)]}


async def load_body(
    request: web.Request, schema_cls: type[Schema], *, partial: bool = False
) -> dict[str, Any]:
    """Parse and validate a JSON body (400 malformed, 415 wrong type, 422 invalid fields)."""
    return validate(schema_cls, await read_json(request), partial=partial)


def load_query(request: web.Request, schema_cls: type[Schema]) -> dict[str, Any]:
    """Validate the query string; repeated keys become lists where the schema says List."""
    schema = schema_for(schema_cls)
    query = request.query
    data: dict[str, Any] = {}
    for key in query.keys():
        if key in data:
            continue
        values = query.getall(key)
        fld = schema.fields.get(key)
        is_list = fld is not None and fld.__class__.__name__ == "List"
        data[key] = values if is_list else values[-1]
    fast = flat_loader(schema)
    if fast is not None and (loaded := fast.load(data)) is not None:
        return loaded
    try:
        return dict(schema.load(data))
    except ValidationError as exc:
        raise ValidationFailed(
            "Some query parameters are invalid.", errors=_messages(exc)
        ) from None


def current_user(request: web.Request) -> AuthUser:
    """The authenticated user (the auth middleware set it), else 401."""
    user = request.get(AUTH_USER)
    if user is None:
        raise Unauthorized()
    return user


def encode_cursor(*parts: Any) -> str:
    """An opaque pagination cursor."""
    return base64.urlsafe_b64encode(_dumps(list(parts))).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """Decode a cursor made by encode_cursor; 422 for anything else."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise ValidationFailed("Invalid cursor.", errors={"cursor": ["Invalid cursor."]}) from None
    if not isinstance(value, list):
        raise ValidationFailed("Invalid cursor.", errors={"cursor": ["Invalid cursor."]})
    return value


def decode_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """A keyset cursor ``(created_at, id)`` made by encode_cursor; 422 for anything else."""
    parts = decode_cursor(cursor)
    if parts is None:
        return None
    try:
        at, row_id = parts
        return datetime.fromisoformat(at), str(uuid.UUID(row_id))
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed("Invalid cursor.", errors={"cursor": ["Invalid cursor."]}) from None
