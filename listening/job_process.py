"""Each background job in a child process of the consumer that exits when the job ends (issue 19).

A theme run of 200,000 answers needs over a gigabyte while it works. Python hands little of that back
to the system afterwards, so a consumer that ran the job itself (one long-lived process, which
CHORUS_MAX_REQUESTS does not restart) kept it until the next restart. The consumer's worker thread
forks instead: the child runs the job exactly as the consumer would (its progress, cancel and failure
are written to the jobs table by :func:`listening.jobs.execute`, as before), then exits, and its memory
goes with it. The child shares the consumer's already-imported code, so it starts in milliseconds.

If the child dies without finishing the job (killed by the system for memory, a crash in a C
library), the consumer marks the job failed (`ProcessDied`): its page says it stopped with an error
and offers to start it again, and the log says how the child ended.
CHORUS_JOBS_IN_CHILD=0 runs jobs in the consumer itself, as before.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Callable

log = logging.getLogger("chorus.jobs")

# What a job whose process died is marked with (the jobs table's `error`, shown as the kind of error).
DIED = "ProcessDied"


def _die_with_parent() -> None:
    """Ask Linux to end this child if the consumer's thread that started it goes (a consumer stopped mid-job).

    The job is then left running and the next consumer marks it interrupted, as when the consumer itself
    ran it; without this an orphaned child would go on writing beside the new consumer. Not on other systems.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_in_child(run: Callable[[], None], on_died: Callable[[str], None]) -> int:
    """Run ``run()`` in a forked child and wait for it; return the child's exit code (negative: its signal).

    ``on_died(how)`` is called in this process when the child did not exit cleanly (``run`` raised,
    or the child was killed), so that the job it ran is not left "running".
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: run the job, then leave without running the parent's clean-ups
        code = 1
        try:
            _die_with_parent()
            run()
            code = 0
        except BaseException:  # noqa: BLE001 - anything: the parent marks the job failed
            log.exception("Job process %s failed", os.getpid())
        finally:
            try:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        try:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        except ValueError:
            how = f"signal {-code}"
        log.error("Job process %s ended with %s", pid, how)
        on_died(how)
    return code
