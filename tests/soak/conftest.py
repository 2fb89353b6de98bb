"""The soak tests reuse the fault proxy and live-server fixtures."""

from tests.faults.conftest import redis_proxy  # noqa: F401
from tests.security.conftest import live_server  # noqa: F401
