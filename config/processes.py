"""Child processes that stop with whoever started them.

A qcluster must not receive its parent's group signal directly: django-q2's sentinel dies at once on
SIGTERM and the cluster's main process then waits on it for good (seen with `kill -- -PGID` of
`make demo`). So children run in a session of their own: the parent stops them itself on its way
out (`children_stop`), and should the parent die without that, the kernel sends each one SIGTERM.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

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


def children_stop(processes, *, grace: float = 10.0) -> None:
    """SIGTERM to each child, then SIGKILL to its whole session after `grace` seconds.

    A qcluster's orderly stop waits for its queue to drain and longer; the jobs themselves are
    made to survive a kill (claims, idempotent recording), so a child that lingers is killed with
    its sentinel and workers.
    """
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def terminate_as_exit(signum, frame):
    """A SIGTERM handler that unwinds like an exit, so `finally` blocks stop the children."""
    raise SystemExit(128 + signum)
