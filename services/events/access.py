"""Which channels a user may subscribe to, by the names the API uses.

``recommendations`` → ``user:<id>:recommendations``, ``onboarding`` →
``user:<id>:onboarding``, ``tasks:<task_id>`` when the task is the user's, ``system``
for administrators only.
"""

from __future__ import annotations

import asyncio
import uuid

from db.pool import Database
from db.queries.realtime import TASK_OWNER
from services.auth_user import AuthUser
from services.errors import Forbidden, NotFound
from services.events.channels import (
    SYSTEM,
    TASKS_PREFIX,
    USER_CHANNELS,
    task_channel,
    user_channel,
)


class ChannelAccess:
    """Maps an API channel name to the internal channel, enforcing ownership."""

    def __init__(self, db: Database, *, timeout_s: float = 5.0) -> None:
        self._db = db
        self._timeout_s = timeout_s

    async def resolve(self, user: AuthUser, name: str) -> str:
        """The internal channel for ``name``; NotFound (unknown / not yours) or Forbidden."""
        if name in USER_CHANNELS:
            return user_channel(user.id, name)
        if name == SYSTEM:
            if not user.is_admin:
                raise Forbidden("The system channel is for administrators.")
            return SYSTEM
        if name.startswith(TASKS_PREFIX):
            task_id = name[len(TASKS_PREFIX) :]
            await self.ensure_task_owner(user, task_id)
            return task_channel(str(uuid.UUID(task_id)))
        raise NotFound("No such channel.")

    async def ensure_task_owner(self, user: AuthUser, task_id: str) -> None:
        """NotFound unless the task exists and belongs to ``user``."""
        try:
            tid = uuid.UUID(task_id)
        except ValueError:
            raise NotFound("No such task.") from None
        async with asyncio.timeout(self._timeout_s):
            owner = await self._db.fetch_val(TASK_OWNER, {"task_id": tid})
        if owner is None or str(owner) != user.id:
            raise NotFound("No such task.")
