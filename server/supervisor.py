"""``python -m server --workers N``: N processes sharing the port, a dead one replaced.

The parent serves nothing: it starts the children (forks, each binding the port with
SO_REUSEPORT),
forwards SIGTERM/SIGINT to them, and starts a new child when one exits without being asked
to (a crash, the OOM killer, ``kill -9``). A child that keeps dying young is a broken
deployment, not bad luck: after ``MAX_QUICK_DEATHS`` in a row the parent stops them all
and exits non-zero rather than spin.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from types import FrameType
from typing import Protocol

log = logging.getLogger(__name__)

POLL_S = 0.1  # how soon a death is noticed; restart well inside the 5 s the docs promise
QUICK_DEATH_S = 2.0  # a child that dies sooner than this after its start "died young"
MAX_QUICK_DEATHS = 5
STOP_TIMEOUT_S = 60.0  # children have their own shutdown grace; this only bounds the wait


class Child(Protocol):
    """What the supervisor needs of a child process (``subprocess.Popen`` has it too)."""

    pid: int

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


class ForkedWorker:
    """A child made with ``os.fork()`` that runs ``target`` and exits with its result."""

    def __init__(self, target: Callable[[], int]) -> None:
        self.returncode: int | None = None
        pid = os.fork()
        if pid == 0:  # the child: never returns into the parent's code
            code = 1
            try:
                # The parent's handlers would stop "its" workers; the server sets its own.
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                code = target()
            except BaseException:
                log.exception("worker %s failed", os.getpid())
            finally:
                logging.shutdown()
                os._exit(code)
        self.pid = pid

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:  # exited meanwhile
                pass

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
            time.sleep(POLL_S)  # a child of ours: waitpid has no timeout to wait on
        return code

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Supervisor:
    """Keeps ``workers`` children alive until told to stop."""

    def __init__(
        self,
        start: Callable[[], Child],
        workers: int,
        *,
        on_death: Callable[[int], object] | None = None,
    ) -> None:
        self._start = start
        self._on_death = on_death
        self._workers = workers
        self._children: list[tuple[Child, float]] = []
        self._stopping = False
        self.restarts = 0

    def _spawn(self) -> None:
        self._children.append((self._start(), time.monotonic()))

    def stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """Signal handler: pass the signal on and stop replacing children."""
        self._stopping = True
        for child, _ in self._children:
            if child.poll() is None:
                child.send_signal(signum)

    def run(self) -> int:
        """Supervise until stopped; the highest exit code of the last children."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for _ in range(self._workers):
            self._spawn()
        quick_deaths = 0
        while not self._stopping:
            time.sleep(POLL_S)
            for child, started in list(self._children):
                code = child.poll()
                if code is None or self._stopping:
                    continue
                self._children.remove((child, started))
                if self._on_death is not None:
                    self._on_death(child.pid)
                lived = time.monotonic() - started
                quick_deaths = quick_deaths + 1 if lived < QUICK_DEATH_S else 0
                if quick_deaths >= MAX_QUICK_DEATHS:
                    log.error("workers keep dying at start-up (exit %s); stopping", code)
                    self.stop(signal.SIGTERM)
                    break
                log.warning(
                    "worker %s exited with %s after %.1f s; starting a new one",
                    child.pid,
                    code,
                    lived,
                )
                self.restarts += 1
                self._spawn()
        codes = []
        for child, _ in self._children:
            try:
                codes.append(child.wait(timeout=STOP_TIMEOUT_S))
            except subprocess.TimeoutExpired:
                child.kill()
                codes.append(child.wait())
        failed = quick_deaths >= MAX_QUICK_DEATHS
        return 1 if failed else max(codes, default=0)
