"""Named fault points, for the reliability tests: a job calls `fault_point("link:mid-write")`
at places where a crash would matter, and `LEO_FAULT` makes that call fail.

    LEO_FAULT=link:mid-write            raise InjectedFault there (a crash Python sees;
                                        clean-up handlers run, as on any error)
    LEO_FAULT=synth:mid-swap=kill       SIGKILL this process there (nothing runs after it)
    LEO_FAULT=a:x,b:y                   several points

Unset (always, outside tests) a fault point costs one environment lookup. Every point is
registered in POINTS, so the tests can try each one and a misspelt name fails loudly.
"""

from __future__ import annotations

import os
import signal

ENV = "LEO_FAULT"

# name -> where it is; the jobs' modules call fault_point(name)
POINTS: dict[str, str] = {
    "synth:after-chunk": "leo synth: the first chunk is written to the temporary folder",
    "synth:before-swap": "leo synth: every chunk written and the swap journal saved",
    "synth:mid-swap": "leo synth: raw/ renamed into place, truth/ not yet",
    "synth:after-swap": "leo synth: raw/ and truth/ in place, temporary folder not yet removed",
    "link:after-read": "leo link: sources read and checked",
    "link:after-profiles": "leo link: identity profiles made and pseudonymised",
    "link:after-linkage": "leo link: pairs scored and clustered, nothing written",
    "link:mid-write": "leo link: record_person written into the run's temporary folder",
    "link:before-pointer": "leo link: work/<run>/ renamed into place, work/LATEST not yet",
    "build:after-accounting": "leo build: every raw row accounted for, nothing written",
    "build:after-person": "leo build: person written to the build's temporary folder",
    "build:before-rename": "leo build: tables and manifest complete in the temporary folder",
    "build:before-pointer": "leo build: linked/<run>/ renamed into place, linked/LATEST not yet",
    "publish:after-cells": "leo publish: cells written to the hidden temporary release",
    "publish:after-audit": "leo publish: the audit passed, manifest not yet written",
    "publish:before-rename": "leo publish: release complete in its temporary folder",
    "publish:before-current": "leo publish: release renamed into place, CURRENT not yet",
}


class InjectedFault(RuntimeError):
    """Raised at a fault point named in LEO_FAULT (never a LeoError: it is a crash)."""


def points(job: str) -> list[str]:
    """The registered fault points of one job ("synth", "link", ...)."""
    return [p for p in POINTS if p.split(":", 1)[0] == job]


def fault_point(name: str) -> None:
    if name not in POINTS:
        raise KeyError(f"fault point {name!r} is not registered in leo/faults.py")
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    for item in wanted.split(","):
        point, _, mode = item.strip().partition("=")
        if point != name:
            continue
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise InjectedFault(f"injected fault at {name} ({ENV})")
