"""Logs that never hold what residents said: tracebacks without exception messages.

An exception's message can quote any value it met: openpyxl's IllegalCharacterError quotes the
whole cell (one control character in an answer once wrote the answer into the error log),
lxml and sqlite errors can quote text or contact details. Chorus's own log lines name only
methods, paths, ids and counts; for exceptions the log keeps the type and the stack (file,
line, function, source line) of each exception in the chain, which is what finding a bug needs,
and leaves the message out.
"""
from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only named: `chorus themes` imports this module and needs no Flask (issue 14)
    from flask import Flask

LEFT_OUT = "(message left out: it may quote what a resident wrote)"


def safe_traceback(error: BaseException) -> str:
    """Return a traceback of an exception and its causes with every message left out."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        name = f"{type(current).__module__}.{type(current).__qualname__}".removeprefix("builtins.")
        parts.append(f"Traceback (most recent call last):\n{frames}{name}: {LEFT_OUT}")
        current = current.__cause__ or current.__context__
    return "\n\nWhile handling or caused by:\n".join(reversed(parts))


class NoExceptionMessages(logging.Filter):
    """A logging filter that replaces a record's traceback text with :func:`safe_traceback`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the record's exception text so no formatter prints the exception's message."""
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])
        return True


def init_app(app: Flask) -> None:
    """Keep exception messages out of the app's log and the loggers of Chorus's packages."""
    guard = NoExceptionMessages()
    for name in (app.logger.name, "listening", "facilitation", "analysis", "chorus"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, NoExceptionMessages) for f in logger.filters):
            logger.addFilter(guard)
