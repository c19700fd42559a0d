"""Worker processes that end with the process that started them."""

from __future__ import annotations

import os
import sys
import threading


def die_with_parent(parent: int | None = None) -> None:
    """In a worker process: be killed when the process that started it dies, even by SIGKILL, instead
    of training on alone (Linux's PR_SET_PDEATHSIG; elsewhere nothing is done)."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    if parent is None:  # the process that started this one, even if it died already
        import multiprocessing

        started_by = multiprocessing.parent_process()
        parent = started_by.pid if started_by is not None else os.getppid()
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def end_with_run() -> None:
    """At the start of a step: in a step process of the multiprocess executor, be killed with the
    process that started it (the run's), instead of training on as an orphan."""
    if in_worker_process():
        die_with_parent()


def in_worker_process() -> bool:
    """True in a process that an executor started for one step (not the run's own process)."""
    import multiprocessing

    return multiprocessing.parent_process() is not None and threading.current_thread() is threading.main_thread()
