"""Peak memory does not grow with --persons: chunks are generated and written one at a time.

Two `leo synth` processes with the same chunk size, one chunk against eight, each reporting
its own peak RSS. The margin (15% of the one-chunk peak) allows for allocator noise; memory
growing with the population would add about the size of a chunk per chunk (well over it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, leo_env

PEAK = (
    "import resource, sys\n"
    "from leo.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    "sys.exit(rc)\n"
)
CHUNK = 3000


def peak_kb(out: Path, persons: int) -> int:
    argv = ["-q", "synth", "--persons", str(persons), "--seed", "1", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, *argv, "--chunk-size", str(CHUNK)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=leo_env(),
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split("PEAK_KB")[1].split()[0])


@pytest.mark.slow
def test_peak_memory_is_flat_in_the_number_of_persons(tmp_path: Path) -> None:
    small = peak_kb(tmp_path / "small", CHUNK)
    large = peak_kb(tmp_path / "large", 8 * CHUNK)
    assert large <= small * 1.15, (small, large)
