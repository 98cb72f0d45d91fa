"""What the linkage report reads (linkage/report.py), from a `leo link` run or a
`leo link-tables` folder, and how it writes the page.

Only files a run already wrote: `model.json`, `summary.json`, `manifest.json` (runs only),
`evaluation.json` (after `leo evaluate`). Without an evaluation, the match rate per source
is counted from the run's record-to-person map (a folder's clusters), as aggregates only.
Paths may be local or URIs (s3://, hdfs://, file://): pyarrow's filesystems, no Spark.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from leo.errors import InputError
from leo.layout import DataRoot, is_uri
from linkage.model import Model

REPORT_NAME = "report.html"


# --- inputs --------------------------------------------------------------------------------


class Files:
    """Read and write under a local folder or a URI (s3://, hdfs://, file://) through
    pyarrow's filesystems, so the report needs no Spark."""

    def __init__(self, base: str) -> None:
        import pyarrow.fs as pafs

        if is_uri(base):
            try:
                self.fs, self.base = pafs.FileSystem.from_uri(base)
            except Exception as e:  # pyarrow raises several types for an unusable URI
                raise InputError(f"cannot open {base}: {e}") from e
        else:
            self.fs, self.base = pafs.LocalFileSystem(), os.path.abspath(base)
        self.uri = base

    def path(self, *parts: str) -> str:
        return posixpath.join(self.base, *parts)

    def exists(self, *parts: str) -> bool:
        import pyarrow.fs as pafs

        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def read_text(self, *parts: str) -> str:
        with self.fs.open_input_stream(self.path(*parts)) as f:
            return f.read().decode("utf-8")

    def read_json(self, name: str, required: bool) -> dict[str, Any] | None:
        where = posixpath.join(self.uri, name)
        if not self.exists(name):
            if required:
                raise InputError(f"{where} not found (is this a linkage run or output folder?)")
            return None
        try:
            value = json.loads(self.read_text(name))
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: not valid JSON ({e})") from e
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a JSON object")
        return value

    def dataset(self, name: str) -> Any:
        import pyarrow.dataset as ds

        return ds.dataset(self.path(name), filesystem=self.fs, format="parquet")


@dataclass
class ReportInputs:
    title: str  # "run <id>" or the output folder
    model: Model
    summary: dict[str, Any]
    manifest: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    linked_rates: dict[str, dict[str, Any]] | None = None  # per source, when no evaluation
    rates_note: str = ""  # why linked_rates is missing


def _model(files: Files) -> Model:
    where = posixpath.join(files.uri, "model.json")
    if not files.exists("model.json"):
        raise InputError(f"{where} not found (is this a linkage run or output folder?)")
    try:
        return Model.from_json(files.read_text("model.json"))
    except (json.JSONDecodeError, TypeError, KeyError) as e:
        raise InputError(f"{where}: not a linkage model ({e})") from e


def linked_match_rates(dataset: Any, source: str, cluster: str) -> dict[str, dict[str, Any]]:
    """Per source: records, and the share whose cluster also holds records of another
    source. Two streaming passes over (source, cluster) batches; nothing but counts leaves."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = [source, cluster]
    flt = pc.field(cluster).is_valid()
    seen = []
    for b in dataset.to_batches(columns=cols, filter=flt):
        seen.append(pa.Table.from_batches([b]).group_by(cols).aggregate([]))
    if not seen:
        return {}
    distinct = pa.concat_tables(seen).group_by(cols).aggregate([])
    per_cluster = distinct.group_by(cluster).aggregate([(source, "count")])
    multi = per_cluster.filter(pc.field(f"{source}_count") > 1)[cluster].combine_chunks()
    totals: dict[str, list[int]] = {}
    for b in dataset.to_batches(columns=cols, filter=flt):
        hit = pc.cast(pc.is_in(b.column(1), value_set=multi), pa.int64())
        t = pa.table({"s": b.column(0), "hit": hit})
        agg = t.group_by("s").aggregate([("hit", "sum"), ("hit", "count")])
        for s, k, n in zip(
            *(agg[c].to_pylist() for c in ("s", "hit_sum", "hit_count")), strict=True
        ):
            acc = totals.setdefault(str(s), [0, 0])
            acc[0] += int(k)
            acc[1] += int(n)
    return {
        s: {"records": n, "linked": k / n if n else 0.0} for s, (k, n) in sorted(totals.items())
    }


def load_run(root: DataRoot, run: str | None = None) -> tuple[ReportInputs, str]:
    """A `leo link` run (work/<run>/, default work/LATEST); returns the inputs and the
    default output path."""
    work = Files(root.work())
    if run is None:
        run = work.read_text("LATEST").strip() if work.exists("LATEST") else None
        if not run:
            raise InputError(f"no linkage run under {root.work()} (run `leo link` first)")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", run) or run in (".", ".."):
        raise InputError(f"--run {run!r}: not a run id")
    if not work.exists(run):
        raise InputError(f"{root.work(run)}: no such linkage run")
    files = Files(root.work(run))
    inp = ReportInputs(
        title=f"run {run}",
        model=_model(files),
        summary=files.read_json("summary.json", required=True) or {},
        manifest=files.read_json("manifest.json", required=False),
        evaluation=files.read_json("evaluation.json", required=False),
    )
    if inp.evaluation is None:
        if files.exists("record_person"):
            inp.linked_rates = linked_match_rates(
                files.dataset("record_person"), "source", "person_pid"
            )
        else:
            inp.rates_note = "the run has no record_person table"
    return inp, files.path(REPORT_NAME) if not is_uri(
        root.root
    ) else f"{root.work(run)}/{REPORT_NAME}"


def load_dir(path: str) -> tuple[ReportInputs, str]:
    """A `leo link-tables --out DIR` folder (an evaluation.json beside it is used too)."""
    files = Files(path)
    inp = ReportInputs(
        title=path,
        model=_model(files),
        summary=files.read_json("summary.json", required=True) or {},
        evaluation=files.read_json("evaluation.json", required=False),
    )
    settings = inp.summary.get("settings", {})
    src = settings.get("source_column") or "source"
    if inp.evaluation is None:
        if settings.get("link_type") == "dedupe_only":
            inp.rates_note = "a dedupe_only link has one source"
        elif files.exists("clusters"):
            ds = files.dataset("clusters")
            if src in ds.schema.names and "cluster_id" in ds.schema.names:
                inp.linked_rates = linked_match_rates(ds, src, "cluster_id")
            else:
                inp.rates_note = f"clusters has no {src} or cluster_id column"
        else:
            inp.rates_note = "the folder has no clusters table"
    return inp, posixpath.join(path, REPORT_NAME)


def write_report(html: str, out: str) -> None:
    """Write atomically: a temporary sibling, then a rename."""
    if not is_uri(out):
        from leo.storage import write_text_atomic

        write_text_atomic(out, html)
        return
    files = Files(posixpath.dirname(out))
    name = posixpath.basename(out)
    tmp = files.path(f".{name}.tmp-{os.getpid()}")
    with files.fs.open_output_stream(tmp) as f:
        f.write(html.encode("utf-8"))
    files.fs.move(tmp, files.path(name))
