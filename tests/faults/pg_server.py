"""A private PostgreSQL server for tests that stop it hard (initdb/pg_ctl, non-root).

The suite's own PostgreSQL is shared with other tests, so a test that kills the server
gets its own: ``initdb`` into a temporary directory (owned by the ``postgres`` system user
when the tests run as root, since PostgreSQL refuses to run as root), ``pg_ctl start`` on a
free port, ``pg_ctl stop -m immediate`` to crash it, ``pg_ctl start`` to bring it back.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.processes import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    def __init__(self) -> None:
        bindir = _bin_dir()
        if bindir is None:
            raise RuntimeError("initdb/pg_ctl not found under /usr/lib/postgresql/*/bin")
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fp-pg-"))
        self.data = self.root / "data"
        self.owner: str | None = "postgres" if os.geteuid() == 0 else None
        if self.owner:
            ent = pwd.getpwnam(self.owner)
            os.chown(self.root, ent.pw_uid, ent.pw_gid)

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / tool), *args]
        if self.owner:
            cmd = ["runuser", "-u", self.owner, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=60)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/fp_crash"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "fp_crash")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            opts,
            "-w",
            "-t",
            "30",
            "-l",
            str(self.root / "log"),
            "start",
        )

    def crash(self) -> None:
        """``pg_ctl stop -m immediate``: no checkpoint, recovery from WAL at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
