"""A small synthetic data root, linked once per test run, for the tests of the jobs that
follow linkage (`leo build`, and `leo publish` after it): fixture `linked_root` in
tests/conftest.py. Treat it as read-only: `copy_root` it before writing anything (a build
writes linked/ under its data root).

Size: 400 persons (about 6,500 source rows), enough for every source, cohort type and a few
linkage errors; linking it takes a few minutes on a loaded 2-core machine, once per run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from linkage.pseudonymise import PseudonymisationKey
from tests.conftest import run_leo

PIPELINE_PERSONS = 400
PIPELINE_SEED = 11
TEST_KEY = PseudonymisationKey(b"t" * 32, "test")


def make_linked_root(spark: Any, root: Path) -> Path:
    from leo.layout import resolve_data_root
    from spark_jobs.link import link_leo

    run_leo(
        "synth",
        "--persons",
        str(PIPELINE_PERSONS),
        "--seed",
        str(PIPELINE_SEED),
        "--out",
        str(root),
        "--overwrite",
        check=True,
    )
    link_leo(spark, resolve_data_root(str(root)), TEST_KEY)
    return root


def copy_root(src: Path, dst: Path) -> Path:
    """A private copy of a data root (raw/, truth/, work/, and anything else)."""
    shutil.copytree(src, dst)
    return dst
