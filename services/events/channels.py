"""Channel names, formatted in this one place.

Internal names (what the bus and the hub use): ``user:<id>:recommendations``,
``user:<id>:onboarding``, ``tasks:<task_id>``, ``system``. Clients name the per-user
channels without the user part (``recommendations``, ``onboarding``); ``tasks:<id>`` and
``system`` are the same in both.
"""

from __future__ import annotations

SYSTEM = "system"
TASKS_PREFIX = "tasks:"
RECOMMENDATIONS = "recommendations"
ONBOARDING = "onboarding"
USER_CHANNELS = (RECOMMENDATIONS, ONBOARDING)  # API names of the per-user channels


def user_channel(user_id: str, name: str) -> str:
    """The internal channel of a per-user stream (``user:<id>:<name>``)."""
    return f"user:{user_id}:{name}"


def recommendations_channel(user_id: str) -> str:
    """The user's recommendations channel."""
    return user_channel(user_id, RECOMMENDATIONS)


def onboarding_channel(user_id: str) -> str:
    """The channel announcing that the user's onboarding inputs changed."""
    return user_channel(user_id, ONBOARDING)


def task_channel(task_id: str) -> str:
    """The channel of one task."""
    return TASKS_PREFIX + task_id
