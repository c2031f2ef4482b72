"""Child processes that stop with whoever started them.

A qcluster must not receive its parent's group signal directly: django-q2's sentinel dies at once on
SIGTERM and the cluster's main process then waits forever on a lock the sentinel held (seen with
`kill -- -PGID` of `make demo`). So children run in a session of their own, and the kernel sends the
main process SIGTERM when its parent dies, however it died; the cluster then stops its sentinel and
workers in order.
"""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def _stop_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def child_options() -> dict:
    """Keyword arguments for `subprocess.Popen`: own session, SIGTERM when the parent dies."""
    parent = os.getpid()
    return {"start_new_session": True, "preexec_fn": lambda: _stop_with_parent(parent)}
