"""Password hashing: peppered, pre-hashed bcrypt, run in a thread pool.

Stored format (scheme ``fp1``)::

    fp1$<bcrypt modular-crypt string>          e.g. fp1$$2b$12$<22-char salt><31-char hash>

where the bcrypt input is::

    base64(HMAC-SHA256(pepper, utf8(NFKC(password))))      (44 ASCII bytes)

Why:

* bcrypt 5 refuses inputs over 72 bytes (``"é" * 40`` already fails) and older versions
  silently truncated them. The HMAC pre-hash turns any password (1,024 code points of any
  Unicode, never truncated) into 44 bytes, so two passwords that share their first 72 bytes
  still hash differently.
* base64 keeps NUL bytes out of bcrypt's input (a raw digest may contain them).
* The pepper (``FLUENTPRO_PEPPER``, kept outside the database) makes a stolen table useless
  without the server's secret.
* NFKC is the normalisation NIST SP 800-63B recommends, so the same password typed on
  different keyboards (composed vs. decomposed accents, full-width forms) still verifies.
  Lone surrogates (which JSON can carry) are encoded with ``surrogatepass``, never an error.
* The ``fp1$`` marker versions the whole recipe; :meth:`PasswordHasher.needs_rehash` reports
  hashes of another scheme or cost so the caller can upgrade them after a successful login.

bcrypt releases the GIL, so every bcrypt call runs in the injected executor (see
:func:`make_executor`) and never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ThreadPoolExecutor

import bcrypt

log = logging.getLogger(__name__)

SCHEME = "fp1"
MIN_COST = 4
MAX_COST = 31
DEFAULT_COST = 12

# "fp1$" + "$2a|b|y$" + two-digit cost + "$" + 53 chars of bcrypt's base64 (salt + hash).
_STORED_RE = re.compile(r"fp1\$(\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53})")
_BCRYPT_B64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def make_executor() -> ThreadPoolExecutor:
    """Return a thread pool for bcrypt sized to the machine's cores.

    bcrypt is CPU-bound and releases the GIL, so more threads than cores only queues work
    inside the OS scheduler instead of in the executor. The caller owns the pool and must
    ``shutdown()`` it.
    """
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="bcrypt")


class PasswordHasher:
    """Hash and verify passwords with scheme ``fp1`` (see the module docstring)."""

    make_executor = staticmethod(make_executor)

    def __init__(
        self,
        pepper: bytes,
        cost: int = DEFAULT_COST,
        *,
        executor: Executor,
        max_in_flight: int | None = None,
    ) -> None:
        if not isinstance(pepper, bytes | bytearray) or not pepper:
            raise ValueError("pepper must be non-empty bytes")
        if isinstance(cost, bool) or not isinstance(cost, int) or not MIN_COST <= cost <= MAX_COST:
            raise ValueError(f"bcrypt cost must be an integer in {MIN_COST}..{MAX_COST}")
        if max_in_flight is not None and (isinstance(max_in_flight, bool) or max_in_flight < 1):
            raise ValueError("max_in_flight must be a positive integer")
        if len(pepper) < 16:
            log.warning("password pepper is shorter than 16 bytes; use a longer random secret")
        self._pepper = bytes(pepper)
        self._cost = cost
        self._executor = executor
        # Two per core: one hashing, one ready to start as soon as it is done (see admission).
        self._max_in_flight = max_in_flight or 2 * (os.cpu_count() or 1)
        self._admission = asyncio.Semaphore(self._max_in_flight)
        # A syntactically valid bcrypt string at the same cost whose plaintext nobody knows.
        # checkpw runs the full key schedule before comparing, so verifying against it costs
        # exactly as much as verifying a real user's hash. Built without hashing, so the
        # constructor never burns 250 ms of CPU on the event loop.
        checksum = "".join(secrets.choice(_BCRYPT_B64) for _ in range(31))
        self._dummy = bcrypt.gensalt(rounds=cost) + checksum.encode("ascii")

    def __repr__(self) -> str:
        return f"PasswordHasher(scheme={SCHEME!r}, cost={self._cost})"

    @property
    def cost(self) -> int:
        """The bcrypt cost (log2 rounds) used for new hashes."""
        return self._cost

    async def hash(self, password: str) -> str:
        """Return the stored form ``fp1$<bcrypt>`` of *password* (computed in the executor)."""
        prehashed = self._prehash(password)
        salt = bcrypt.gensalt(rounds=self._cost)
        loop = asyncio.get_running_loop()
        hashed = await loop.run_in_executor(self._executor, bcrypt.hashpw, prehashed, salt)
        return f"{SCHEME}${hashed.decode('ascii')}"

    async def verify(self, password: str, stored: str) -> bool:
        """Return whether *password* matches *stored*.

        Returns False (never raises) for a stored string that is not a well-formed ``fp1``
        hash. The bcrypt work runs in the executor.
        """
        inner = self._parse(stored)
        if inner is None:
            return False
        return await self._checkpw(password, inner)

    async def verify_dummy(self, password: str) -> bool:
        """Burn the time of one :meth:`verify` at the current cost; always returns False.

        Call it when the e-mail is unknown so that a login attempt takes the same time
        whether or not the account exists.
        """
        await self._checkpw(password, self._dummy)
        return False

    @contextlib.asynccontextmanager
    async def admission(self) -> AsyncIterator[None]:
        """Hold one of ``max_in_flight`` slots for a whole password check (e.g. a login).

        The pool hashes one password per core at a time, so letting more callers run their
        prelude (throttle look-ups, the user query) only queues them in the executor, and a
        burst of N logins arriving together then runs N preludes back to back on the event
        loop in each round trip (32 logins: ~0.4 ms each, 13+ ms per wave). Waiting here
        costs the loop a few microseconds per caller and spreads the work out; throughput is
        unchanged because the slots keep every core busy.
        """
        async with self._admission:
            yield

    def needs_rehash(self, stored: str) -> bool:
        """Return True if *stored* is not an ``fp1`` hash at this hasher's cost."""
        match = _STORED_RE.fullmatch(stored) if isinstance(stored, str) else None
        if match is None:
            return True
        return int(match.group(2)) != self._cost

    # -- internals ---------------------------------------------------------------------------

    def _prehash(self, password: str) -> bytes:
        if not isinstance(password, str):
            raise TypeError("password must be a str")
        data = unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._pepper, data, hashlib.sha256).digest()
        return base64.b64encode(digest)

    @staticmethod
    def _parse(stored: str) -> bytes | None:
        if not isinstance(stored, str):
            return None
        match = _STORED_RE.fullmatch(stored)
        if match is None or not MIN_COST <= int(match.group(2)) <= MAX_COST:
            return None
        return match.group(1).encode("ascii")

    async def _checkpw(self, password: str, hashed: bytes) -> bool:
        prehashed = self._prehash(password)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _safe_checkpw, prehashed, hashed)


def _safe_checkpw(prehashed: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(prehashed, hashed)
    except ValueError:  # e.g. an invalid salt that passed the format check
        return False
