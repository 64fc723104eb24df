"""Child processes that die with their parent (Linux ``PR_SET_PDEATHSIG``, through ctypes)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies. False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        ok = libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    return bool(ok)


def child_setup(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """``preexec_fn`` of a child that must not outlive ``parent_pid``: parent-death signal, and exit at once if
    the parent died before the signal was armed."""
    die_with_parent(sig)
    if os.getppid() != parent_pid:
        with contextlib.suppress(OSError):
            os.kill(os.getpid(), sig)
