"""Named checkpoints where a test can make a job fail, to prove that a crash at that point
leaves nothing half-published.

`LEO_FAULT=<job>.<point>` makes `checkpoint("<job>.<point>")` fail: by SIGKILL of the
process (`LEO_FAULT_MODE=kill`, as a real kill would: no cleanup runs), or by raising
InjectedFault (the default; clean-up handlers run, as on any error). Unset, a checkpoint
costs one environment lookup.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "LEO_FAULT"
MODE_ENV = "LEO_FAULT_MODE"


class InjectedFault(RuntimeError):
    """Raised at a checkpoint named by LEO_FAULT."""


def checkpoint(name: str) -> None:
    if os.environ.get(FAULT_ENV) != name:
        return
    if os.environ.get(MODE_ENV) == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(f"fault injected at {name} ({FAULT_ENV})")
