"""The event bus: each event in its channel's Redis Stream (history) and announced over
sharded pub/sub (live); one hub per process fans live events out to its subscribers."""

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
