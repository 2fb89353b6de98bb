"""The event bus: Redis Streams per channel, one hub per process fanning out to subscribers."""

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
