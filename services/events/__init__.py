"""The event bus: Redis Streams per channel, one hub per process fanning out to subscribers,
channel names (channels.py) and who may follow which channel (access.py).

Carries events and knows no transport (the SSE and WebSocket encodings live in
``handlers``). May import ``db`` and other services; never ``handlers`` or ``server``.
"""

from services.events.bus import Event, EventBus, InvalidEventId, ReadResult
from services.events.hub import EventHub, SlowConsumer, Subscription
from services.events.stats import EventStats

__all__ = [
    "Event",
    "EventBus",
    "EventHub",
    "EventStats",
    "InvalidEventId",
    "ReadResult",
    "SlowConsumer",
    "Subscription",
]
