"""Tracebacks without the text of database errors.

psycopg2's messages quote the offending input (``invalid input syntax for type uuid:
"<what the client sent>"``, ``Key (email)=(…) already exists``), so a logged traceback
copied user input — possibly a password or token sent in the wrong field — into the logs
(security review 2026-12-07, finding 12). The formatter keeps the traceback, the error
class and its SQLSTATE, and withholds the message.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType
from typing import Any

import psycopg2

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _withhold(te: traceback.TracebackException, exc: BaseException | None) -> None:
    seen: set[int] = set()
    while te is not None and exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, psycopg2.Error):
            code = getattr(exc, "pgcode", None) or "-"
            # _str is what format() prints after the class name: no public setter exists.
            te._str = f"(SQLSTATE {code}; message withheld: it may quote input)"  # type: ignore[attr-defined]
        if te.__cause__ is not None:
            te, exc = te.__cause__, exc.__cause__
        else:
            te, exc = te.__context__, exc.__context__  # type: ignore[assignment]


def format_exception(exc_info: Any) -> str:
    """``logging.Formatter.formatException`` with database error messages withheld."""
    etype, value, tb = exc_info
    if value is None:
        return ""
    te = traceback.TracebackException(etype, value, tb, compact=True)
    _withhold(te, value)
    return "".join(te.format()).rstrip("\n")


class SafeFormatter(logging.Formatter):
    """A plain-text formatter whose tracebacks withhold database error messages."""

    def formatException(self, ei: Any) -> str:
        return format_exception(ei)
