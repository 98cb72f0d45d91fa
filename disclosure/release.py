"""Reading a published release for the audit (local data roots, like the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from disclosure.audit import AuditReport, audit
from disclosure.policy import Policy
from leo.catalogue import load_catalogue
from leo.config import validate
from leo.errors import InputError
from leo.layout import DataRoot
from leo.schema import release_cells_table
from leo.storage import read_pointer

FIXED = ("cohort_type", "cohort", "years_after", "measure", "value", "status", "flag", "reason")


def audit_published(root: DataRoot, release_id: str | None, conf_dir: str | None) -> AuditReport:
    """Audit published/<release_id> (default CURRENT) against the policy in its own
    manifest: the policy it was published under, which the attacker is assumed to know."""
    if not root.is_local:
        raise InputError(f"{root.root}: leo audit-release reads local data roots only")
    release_id = release_id or read_pointer(root.current_pointer())
    if not release_id:
        raise InputError(f"{root.current_pointer()}: no release is published yet")
    rdir = Path(root.published(release_id))
    manifest_path = rdir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{rdir}: no manifest.json (not a complete release)") from None
    except ValueError as exc:
        raise InputError(f"{manifest_path}: not JSON: {exc}") from None
    if "policy" not in manifest:
        raise InputError(f"{manifest_path}: no 'policy' (not a release made by leo publish)")
    policy = validate(Policy, manifest["policy"], f"{manifest_path} key 'policy'")
    if not (rdir / "cells").is_dir():
        raise InputError(f"{rdir}: no cells directory")
    table = pq.read_table(rdir / "cells")
    dims = [c for c in table.column_names if c not in FIXED]
    contract = release_cells_table(dims)
    missing = [c for c in contract.names if c not in table.column_names]
    if missing:
        raise InputError(f"{rdir / 'cells'}: missing column(s) {missing}")
    cells = table.select(contract.names).to_pandas()
    return audit(cells, load_catalogue(conf_dir), policy, dims)
