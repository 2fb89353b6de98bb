"""The messages of the real-time channels: WebSocket frames and SSE event payloads.

One source for three readers: the WebSocket protocol validates every client message with
the ``CLIENT_MESSAGES`` schemas, the AsyncAPI document (``handlers/asyncapi.py``) is
generated from all of them, and the tests check that what the server sends loads with the
schema documented for it.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from handlers.schemas.activity import (
    AdaptiveRecommendationSchema,
    InteractionBodySchema,
    OnboardingProgressSchema,
)

MAX_CHAT_CHARS = 4000
TASK_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
BREAKER_STATES = ("closed", "open", "half_open", "isolated")


class MessageId(fields.Field):
    """A client's ``id`` for a request: a string or an integer, echoed in the replies."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError("Must be a string or an integer.")
        if isinstance(value, str) and len(value) > 200:
            raise ValidationError("At most 200 characters.")
        return value


def _id(required: bool = False) -> MessageId:
    return MessageId(
        required=required,
        allow_none=not required,
        metadata={
            "type": ["string", "integer"],
            "description": "Chosen by the client, echoed in the replies to this message.",
        },
    )


def _text(max_len: int, description: str) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=1, max=max_len),
        metadata={"description": description},
    )


def _const(value: str) -> fields.String:
    return fields.String(required=True, validate=validate.OneOf((value,)))


class ClientMessage(Schema):
    """Fields every client message may carry; unknown fields are ignored (forward
    compatible clients may send more)."""

    class Meta:
        unknown = EXCLUDE

    id = _id()


# -- WebSocket: client → server --------------------------------------------------------


class AuthMessageSchema(ClientMessage):
    """First message, for clients that can send neither a cookie nor a header (within 5 s)."""

    type = _const("auth")
    token = _text(500, "The token from POST /api/v1/auth/login.")


class SubscribeMessageSchema(ClientMessage):
    """Receive a channel's events; missed ones replay after ``last_event_id``."""

    type = _const("subscribe")
    channel = _text(
        200, '"recommendations", "onboarding", "tasks:<task_id>", or "system" (admins).'
    )
    last_event_id = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "The id of the last event seen on this channel."},
    )


class UnsubscribeMessageSchema(ClientMessage):
    type = _const("unsubscribe")
    channel = _text(200, "A channel this connection subscribed to.")


class InteractionMessageSchema(ClientMessage):
    """The same body as POST /api/v1/interactions."""

    type = _const("interaction")
    event = fields.Nested(InteractionBodySchema, required=True)


class ChatMessageSchema(ClientMessage):
    """One career-coach chat turn; a new turn ends the previous one's stream."""

    type = _const("chat")
    id = _id(required=True)
    message = _text(MAX_CHAT_CHARS, "The user's question.")


class PingMessageSchema(ClientMessage):
    type = _const("ping")


# The WebSocket protocol dispatches on ``type`` and loads the message with its schema.
CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    "auth": AuthMessageSchema,
    "subscribe": SubscribeMessageSchema,
    "unsubscribe": UnsubscribeMessageSchema,
    "interaction": InteractionMessageSchema,
    "chat": ChatMessageSchema,
    "ping": PingMessageSchema,
}


# -- WebSocket: server → client --------------------------------------------------------


class ServerMessage(Schema):
    pass


class WelcomeMessageSchema(ServerMessage):
    """The first message on every connection."""

    type = _const("welcome")
    user_id = fields.UUID(required=True)
    server_time = fields.DateTime(required=True)


class SubscribedMessageSchema(ServerMessage):
    type = _const("subscribed")
    channel = fields.String(required=True)
    id = _id()
    last_event_id = fields.String(
        metadata={
            "description": "Where live delivery began, when the client gave no last_event_id "
            "and the channel has history: resubscribe with it after a reconnect to get "
            "every event since, with no gap."
        }
    )


class UnsubscribedMessageSchema(ServerMessage):
    type = _const("unsubscribed")
    channel = fields.String(required=True)
    id = _id()


class ResetMessageSchema(ServerMessage):
    """``last_event_id`` is older than what the channel keeps: events were lost. Reload the
    state over REST; the live events follow."""

    type = _const("reset")
    channel = fields.String(required=True)
    oldest_id = fields.String(allow_none=True, required=True)


class EventMessageSchema(ServerMessage):
    """One event of a subscribed channel; ``event`` and ``data`` are those of the SSE
    stream of the same channel (see the SSE channels of this document)."""

    type = _const("event")
    channel = fields.String(required=True)
    event = fields.String(required=True)
    id = fields.String(required=True, metadata={"description": "Resume with last_event_id."})
    data = fields.Dict(required=True)


class AckMessageSchema(ServerMessage):
    type = _const("ack")
    id = fields.UUID(required=True, metadata={"description": "The interaction's id."})
    ref = _id()


class PongMessageSchema(ServerMessage):
    type = _const("pong")
    server_time = fields.DateTime(required=True)
    id = _id()


class ChatDeltaMessageSchema(ServerMessage):
    type = _const("chat.delta")
    id = _id(required=True)
    delta = fields.String(required=True)


class ChatResetMessageSchema(ServerMessage):
    """The provider failed mid-answer: drop the deltas so far; the answer starts again."""

    type = _const("chat.reset")
    id = _id(required=True)


class ChatDoneMessageSchema(ServerMessage):
    type = _const("chat.done")
    id = _id(required=True)
    source = fields.String(required=True, validate=validate.OneOf(("ai", "cache", "local")))


ERROR_CODES = (
    "bad_json",
    "bad_message",
    "unknown_type",
    "invalid_fields",
    "bad_request",
    "not_found",
    "forbidden",
    "rate_limited",
    "unavailable",
    "internal",
)


class ErrorMessageSchema(ServerMessage):
    """A message the server could not act on; the connection stays open."""

    type = _const("error")
    code = fields.String(required=True, validate=validate.OneOf(ERROR_CODES))
    message = fields.String(required=True)
    id = _id()
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "invalid_fields: the messages for each field."},
    )


SERVER_MESSAGES: dict[str, type[ServerMessage]] = {
    "welcome": WelcomeMessageSchema,
    "subscribed": SubscribedMessageSchema,
    "unsubscribed": UnsubscribedMessageSchema,
    "reset": ResetMessageSchema,
    "event": EventMessageSchema,
    "ack": AckMessageSchema,
    "pong": PongMessageSchema,
    "chat.delta": ChatDeltaMessageSchema,
    "chat.reset": ChatResetMessageSchema,
    "chat.done": ChatDoneMessageSchema,
    "error": ErrorMessageSchema,
}


# -- SSE event payloads (the ``data:`` of each event; also ``data`` of a WS ``event``) -----


class TaskProgressSchema(Schema):
    task_id = fields.UUID(required=True)
    progress = fields.Integer(required=True, validate=validate.Range(min=0, max=100))
    status = fields.String(required=True, validate=validate.OneOf(TASK_STATUSES))
    message = fields.String(required=True)
    step = fields.String(required=True)
    timestamp = fields.DateTime(required=True)


class TaskCompleteSchema(Schema):
    task_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("succeeded",)))
    result = fields.Raw(required=True, metadata={"description": "The task kind's result."})


class TaskFailedSchema(Schema):
    task_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("failed",)))
    error = fields.Raw(required=True)


class TaskCancelledSchema(Schema):
    task_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("cancelled",)))


class StreamResetSchema(Schema):
    """Sent first when ``Last-Event-ID`` is older than the channel keeps (or not an id)."""

    oldest_id = fields.String(allow_none=True, required=True)


class OnboardingChangedSchema(Schema):
    """The user's onboarding inputs changed (the SSE progress stream recomputes on it)."""

    user_id = fields.UUID(required=True)
    at = fields.DateTime(required=True)


class LagSummarySchema(Schema):
    p50 = fields.Float(required=True)
    p99 = fields.Float(required=True)
    max = fields.Float(required=True)


class ConnectionCountsSchema(Schema):
    sse = fields.Integer(required=True)
    ws = fields.Integer(required=True)


class TaskCountsSchema(Schema):
    queued = fields.Integer(required=True)
    running = fields.Integer(required=True)


class SystemMetricsSchema(Schema):
    timestamp = fields.DateTime(required=True)
    loop_lag_ms = fields.Nested(LagSummarySchema, required=True)
    connections = fields.Nested(ConnectionCountsSchema, required=True)
    breakers = fields.Dict(
        keys=fields.String(),
        values=fields.String(validate=validate.OneOf(BREAKER_STATES)),
        required=True,
    )
    tasks = fields.Nested(TaskCountsSchema, required=True)
    requests_per_s = fields.Float(required=True)


class BreakerChangeSchema(Schema):
    name = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(BREAKER_STATES))
    previous = fields.String(required=True, validate=validate.OneOf(BREAKER_STATES))
    at = fields.Raw(required=True, metadata={"description": "When the state changed."})


TASK_EVENTS: dict[str, type[Schema]] = {
    "progress": TaskProgressSchema,
    "complete": TaskCompleteSchema,
    "failed": TaskFailedSchema,
    "cancelled": TaskCancelledSchema,
}
SYSTEM_EVENTS: dict[str, type[Schema]] = {
    "metrics": SystemMetricsSchema,
    "breaker": BreakerChangeSchema,
}


class SseStream:
    """One text/event-stream route: its path, what it is for, its events' payloads."""

    def __init__(
        self,
        address: str,
        description: str,
        events: dict[str, type[Schema]],
        *,
        resumable: bool = True,
    ) -> None:
        self.address = address
        self.description = description
        self.resumable = resumable
        # A resumable stream starts with ``reset`` for a Last-Event-ID it cannot resume from.
        self.events: dict[str, type[Schema]] = dict(events)
        if resumable:
            self.events["reset"] = StreamResetSchema


SSE_STREAMS: dict[str, SseStream] = {
    "taskEvents": SseStream(
        "/api/v1/tasks/{task_id}/events",
        "A task's progress, then exactly one of complete, failed or cancelled; the stream "
        "then ends. Subscribing to a finished task sends its final event at once.",
        TASK_EVENTS,
    ),
    "onboardingProgress": SseStream(
        "/api/v1/onboarding/progress/stream",
        "The onboarding analysis at once, then after each change (at most one per 2 s). "
        "No resume: a reconnecting client gets the current analysis first.",
        {"progress": OnboardingProgressSchema},
        resumable=False,
    ),
    "systemStream": SseStream(
        "/api/v1/system/stream",
        "Administrators only: a metrics snapshot every second and every breaker change.",
        SYSTEM_EVENTS,
    ),
}

# The channels a WebSocket subscribes to (``subscribe``), with the events each carries in
# ``{"type": "event", "event": <name>, "data": <payload>}``.
WS_CHANNELS: dict[str, dict[str, type[Schema]]] = {
    "tasks:<task_id>": TASK_EVENTS,
    "recommendations": {"adaptive_recommendation": AdaptiveRecommendationSchema},
    "onboarding": {"changed": OnboardingChangedSchema},
    "system": SYSTEM_EVENTS,
}
