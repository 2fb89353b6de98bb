"""Long-lived connections end with their session (security review 2026-12-07, finding 9).

A WebSocket or SSE stream is authenticated once, at the start. Revocation already closes it
(the hub's revocation notice); this closes it when the session's expiry — the earlier of the
absolute lifetime and the idle timeout as of authentication — passes, so an open socket
cannot outlive its session. The client reconnects; if the session is still alive (it was
used meanwhile) the new connection is authenticated again, with a new deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from services.auth_user import AuthUser


def with_expiry(
    user: AuthUser, close: Callable[[], None], undo: Callable[[], None]
) -> Callable[[], None]:
    """Call *close* when the user's session expires; returns *undo* extended to cancel that
    (call it once, when the connection ends). One timer handle per connection, no task."""
    if user.expires_at is None:
        return undo
    loop = asyncio.get_running_loop()
    handle = loop.call_later(max(0.0, user.expires_at - time.time()), close)

    def undo_both() -> None:
        handle.cancel()
        undo()

    return undo_both
