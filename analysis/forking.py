"""A second core for the theme engine: one independent piece of a run computed in a forked child.

Owns :func:`enable`, :func:`enabled` and :func:`beside`. Python threads share one interpreter
lock, so the engine's Python loops (counting character n-grams, describing themes) use one core
however many threads run them; a child made by ``fork`` starts with a copy of everything the
parent holds, computes one piece, sends it back pickled (bit for bit what the parent would have
computed) and exits. Off unless a short-lived process turns it on (``chorus themes`` does, and so does a
theme job in the consumer's child process that exits when the job ends, unless ``CHORUS_THEMES_PROCESSES=1``):
the web app, and a job run in the consumer itself, keep computing in process.
Wherever forking is off or unavailable, or the child fails, the piece is computed in process and
the result is the same.
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import os
import pickle
import select
import signal
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any

__all__ = ["ENV", "enable", "enabled", "beside", "Pending"]

# Processes `chorus themes` may use: 2 (its default) lets it fork one helper; 1 keeps every piece in process.
ENV = "CHORUS_THEMES_PROCESSES"

_enabled = False


@contextlib.contextmanager
def enable() -> Iterator[bool]:
    """Let :func:`beside` fork inside the ``with`` block (unless ``CHORUS_THEMES_PROCESSES`` is 1 or the system cannot fork); give :func:`enabled`."""
    global _enabled  # noqa: PLW0603 - one switch for the process, held by the command that owns it
    before, _enabled = _enabled, True
    try:
        yield enabled()
    finally:
        _enabled = before


def enabled() -> bool:
    """Return whether :func:`beside` forks: turned on, allowed by ``CHORUS_THEMES_PROCESSES``, and ``os.fork`` exists."""
    return _enabled and hasattr(os, "fork") and os.environ.get(ENV, "2").strip() != "1"


class Pending:
    """A piece of work started by :func:`beside`; :meth:`result` returns its value (computing it here if need be)."""

    def __init__(self, function: Callable[..., Any], args: tuple) -> None:
        """Remember the work; a forked child, when there is one, is set by :func:`beside`."""
        self._function, self._args = function, args
        self._pid: int | None = None
        self._read: int | None = None
        self.forked = False  # whether the value came from a child (for tests and figures)
        self.child_cpu = 0.0  # the child's CPU seconds, once it has ended (for figures)
        self.forked_now = False  # whether a child was started for it

    def result(self, instead: Callable[[], Any] | None = None) -> Any:
        """Return the value: the child's when it sent one, else ``instead()`` or computed in this process (raising what the work raises)."""
        if self._pid is not None:
            payload = self._collect()
            if payload is not None:
                try:
                    done, value = pickle.loads(payload)  # noqa: S301 - our own child's bytes, through our own pipe
                except Exception:  # noqa: BLE001 - a cut-short message: compute it here instead
                    done = False
                if done:
                    self.forked = True
                    return value
        return instead() if instead is not None else self._function(*self._args)

    def ready(self) -> bool:
        """Return whether :meth:`result` would not wait: the child has sent its value or ended (or there is no child)."""
        if self._pid is None:
            return True
        return bool(select.select([self._read], [], [], 0)[0])

    def cancel(self) -> None:
        """Stop the child, if any, and wait for it; :meth:`result` then computes in process."""
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._collect()

    def _collect(self) -> bytes | None:
        """Read everything the child sent, wait for it to end, and return the bytes (``None`` when it did not end well)."""
        pid, read = self._pid, self._read
        self._pid = self._read = None
        chunks = []
        try:
            while chunk := os.read(read, 1 << 20):  # type: ignore[arg-type]
                chunks.append(chunk)
        finally:
            os.close(read)  # type: ignore[arg-type]
            _pid, status, usage = os.wait4(pid, 0)  # type: ignore[arg-type]
            self.child_cpu = usage.ru_utime + usage.ru_stime
        return b"".join(chunks) if os.waitstatus_to_exitcode(status) == 0 else None

    def __enter__(self) -> Pending:
        """Use as a context manager, so that a child whose value is never asked for is stopped."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop the child if its value was not read."""
        self.cancel()


def _dumps(value: object) -> bytes:
    """Return ``value`` pickled, read-only mappings (``MappingProxyType``, which pickle refuses) as read-only mappings."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[MappingProxyType] = lambda proxy: (_read_only, (dict(proxy),))
    pickler.dump(value)
    return buffer.getvalue()


def _read_only(mapping: dict) -> MappingProxyType:
    """Return a read-only view of ``mapping`` (how :func:`_dumps`'s read-only mappings are rebuilt)."""
    return MappingProxyType(mapping)


def beside(function: Callable[..., Any], *args: Any) -> Pending:
    """Start ``function(*args)`` in a forked child when :func:`enabled`, and return its :class:`Pending` value.

    The function must not change anything the caller reads afterwards (the child's changes stay in
    the child) and must return something picklable. When forking is off or fails, nothing starts
    now and :meth:`Pending.result` computes the value in this process.
    """
    pending = Pending(function, args)
    if not enabled():
        return pending
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return pending
    if pid == 0:  # the child: compute, send, and leave without running the parent's exit handlers
        code = 0
        try:
            os.close(read)
            try:
                payload = _dumps((True, function(*args)))
            except BaseException:  # noqa: BLE001 - the parent computes it again and meets the error itself
                payload = pickle.dumps((False, None))
            view = memoryview(payload)
            while view:
                view = view[os.write(write, view):]
        except BaseException:  # noqa: BLE001 - a parent that stopped reading: nothing more to do
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    pending._pid, pending._read = pid, read
    pending.forked_now = True
    return pending
