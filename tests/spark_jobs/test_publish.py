"""The publish job on Spark: a release from a hand-built cohort_outcomes, the API serving
it over HTTP, `leo audit-release`, refusal of a release that fails its audit, crashes at
every step leaving CURRENT on a complete release, and the harness of tests/faults.py (a
random fault point, a SIGKILL of the driver, the rerun) with the API serving throughout."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from api.access import AccessDB
from api.store import load_release
from leo.catalogue import load_catalogue
from leo.errors import InputError
from leo.faults import InjectedFault, points
from leo.layout import DataRoot
from leo.schema import release_cells_table
from leo.storage import read_pointer, write_text_atomic
from spark_jobs.publish import ReleaseRefused, publish
from synthetic.cohort_outcomes import generate, write_linked
from tests.api.conftest import PROJECTS_YAML, TABLE_QUERY, Client, Env, serve
from tests.conftest import leo_env, run_leo
from tests.disclosure.tables import policy
from tests.faults import ApiWatch, Job, interrupt_and_rerun, output_folder, snapshot

pytestmark = pytest.mark.spark

CATALOGUE = load_catalogue()
DIMS = [d.id for d in CATALOGUE.dimensions]
FAST = {"max_dimensions": 1}  # one dimension at a time keeps the tests quick


def conf_dir(base: Path, **changes: object) -> Path:
    """A conf folder whose disclosure.yaml is the shipped policy with dotted keys changed."""
    conf = base / "conf"
    conf.mkdir(exist_ok=True)
    data = policy(**{**FAST, **changes}).model_dump(mode="json")
    (conf / "disclosure.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return conf


def visible_releases(root: Path) -> list[str]:
    return sorted(
        p.name for p in (root / "published").iterdir() if p.is_dir() and p.name[0] not in "._"
    )


@pytest.fixture(scope="module")
def data(spark, tmp_path_factory):
    """Two KS4 cohorts of about 300 people each (and their graduates), published once."""
    base = tmp_path_factory.mktemp("publish")
    root = base / "data"
    outcomes = generate(600, seed=5, first_cohort=2012, cohorts=2)
    write_linked(root, outcomes, run="b1")
    conf = conf_dir(base)
    release, manifest = publish(spark, DataRoot(str(root)), str(conf), release_id="r-one")
    return root, conf, outcomes, release, manifest


def test_release_cells_are_the_contract_and_the_manifest_accounts(data):
    root, _, outcomes, release, manifest = data
    assert read_pointer(root / "published" / "CURRENT") == release == "r-one"
    table = pq.read_table(root / "published" / release / "cells")
    assert table.schema.names == release_cells_table(DIMS).names
    assert table.schema.equals(release_cells_table(DIMS).arrow_schema, check_metadata=False)
    acc = manifest["row_accounting"]
    assert acc["input_rows"] == acc["rows_in_total_cells"] == outcomes.num_rows
    assert acc["cells"] == table.num_rows == acc["cube_rows"] * len(CATALOGUE.measures)
    inputs = manifest["inputs"]["cohort_outcomes"]
    assert inputs["rows"] == outcomes.num_rows and inputs["files"]
    assert len(manifest["config"]["disclosure_sha256"]) == 64
    assert manifest["policy"]["threshold"] == 10 and manifest["audit"]["passed"]
    for m in CATALOGUE.measures:
        stats = manifest["suppression"][m.id]
        assert 0 <= stats["share_suppressed"] <= 1
        assert stats["mean_absolute_distortion"] is None or stats["mean_absolute_distortion"] >= 0
    # counts move by at most rounding + noise
    assert manifest["suppression"]["cohort_count"]["mean_absolute_distortion"] <= 4
    assert manifest["linkage_quality"]["cohort_outcomes"]["ks4"]["linked_share"] > 0.9
    on_disk = json.loads((root / "published" / release / "manifest.json").read_text())
    assert on_disk["release_id"] == release


def test_api_serves_the_published_release_over_http(data, tmp_path):
    root, _, outcomes, release, _ = data
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "projects.yaml").write_text(PROJECTS_YAML)
    db = AccessDB(root / "access" / "access.db")
    db.add_analyst("alice", "Alice Analyst", "University of Testing", date(2099, 12, 31))
    _, token = db.issue_token("alice", days=30)
    db.close()
    env = Env(root, conf)
    cells = pq.read_table(root / "published" / release / "cells").to_pandas()
    df = outcomes.to_pandas()
    with serve(env) as server:
        c = Client(server.url)
        body = c.gql(
            TABLE_QUERY,
            {
                "cohort": {"type": "KS4", "cohort": "2012/13", "yearsAfter": [1]},
                "measures": ["cohort_count", "sustained_employment_rate"],
                "by": ["sex"],
            },
            token=token,
        )
        assert "errors" not in body, body
        table = body["data"]["project"]["table"]
        assert table["release"] == release
        rows = {r["group"][0]["value"]: r["cells"] for r in table["rows"]}
        assert set(rows) >= {"F", "M"}
        for sex in ("F", "M"):
            count = rows[sex][0]
            file = cells[
                (cells.cohort_type == "ks4")
                & (cells.cohort == "2012/13")
                & (cells.years_after == 1)
                & (cells.sex == sex)
                & cells.region.isna()
                & (cells.measure == "cohort_count")
            ].iloc[0]
            assert count["value"] == file["value"]
            true = (
                (df.cohort_type == "ks4")
                & (df.cohort == "2012/13")
                & (df.years_after == 1)
                & (df.sex == sex)
            ).sum()
            assert abs(count["value"] - true) <= 4 and count["value"] % 5 == 0
        about = c.gql("{ release { id cells suppressedCells } }")["data"]["release"]
        assert about["id"] == release and about["cells"] == len(cells)
        c.http.close()


def test_audit_release_cli_passes_and_catches_a_tampered_release(data):
    root, conf, *_ = data
    ok = run_leo("--conf", str(conf), "audit-release", "--data", str(root))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "audit PASSED" in ok.stdout
    as_json = run_leo("--conf", str(conf), "audit-release", "--data", str(root), "--json")
    report = json.loads(as_json.stdout)  # nothing but JSON on stdout
    assert report["passed"] and report["pinned"] == 0 and report["attack"]["targets"] > 0
    # a copy whose suppressed count is published as its exact small value
    bad = root / "published" / "r-tampered"
    shutil.copytree(root / "published" / "r-one", bad)
    cells = pq.read_table(bad / "cells").to_pandas()
    i = cells[(cells.status == "suppressed") & (cells.measure == "cohort_count")].index[0]
    cells.loc[i, ["value", "status", "flag", "reason"]] = [3.0, "published", None, "leaked"]
    for f in (bad / "cells").glob("*.parquet"):
        f.unlink()
    contract = release_cells_table(DIMS)
    pq.write_table(
        pa.Table.from_pandas(cells, schema=contract.arrow_schema, preserve_index=False),
        bad / "cells" / "part-0.parquet",
    )
    proc = run_leo(
        "--conf", str(conf), "audit-release", "--data", str(root), "--release", "r-tampered"
    )
    assert proc.returncode == 1
    assert "published count under 10" in proc.stdout
    shutil.rmtree(bad)


def test_a_release_that_fails_its_audit_is_refused(data, spark, tmp_path, reliability):
    """Perturbation alone, no secondary suppression, and a protection width no release
    of small cohorts can meet: the audit pins cells and nothing is published."""
    row = reliability.row(
        "fault",
        tried="leo publish with a policy whose release fails the differencing audit",
        expected="refused: nothing published, CURRENT unchanged",
    )
    root, *_ = data
    changes = {"differencing.method": "cell_key", "differencing.protection_width": 9}
    conf = conf_dir(tmp_path, **changes)
    before = visible_releases(root)
    with pytest.raises(ReleaseRefused, match="pinned"):
        publish(spark, DataRoot(str(root)), str(conf), release_id="r-refused")
    assert visible_releases(root) == before
    assert read_pointer(root / "published" / "CURRENT") == "r-one"
    row.observed = "ReleaseRefused; no new release directory; CURRENT still r-one"


@pytest.mark.slow
@pytest.mark.parametrize("point", points("publish"))
def test_a_crash_at_any_step_leaves_current_on_a_complete_release(
    data, spark, point, monkeypatch, reliability
):
    row = reliability.row(
        "fault",
        tried=f"leo publish failing at {point}",
        expected="CURRENT names the previous complete release; no partial release visible",
    )
    root, conf, *_ = data
    monkeypatch.setenv("LEO_FAULT", point)
    with pytest.raises(InjectedFault):
        publish(spark, DataRoot(str(root)), str(conf), release_id=f"r-{point.split(':')[1]}")
    current = read_pointer(root / "published" / "CURRENT")
    assert current == "r-one"
    release = load_release(DataRoot(str(root)), current, CATALOGUE)
    assert release.n_cells > 0
    new = root / "published" / f"r-{point.split(':')[1]}"
    if point == "publish:before-current":
        # renamed into place, complete, not yet current: a later publish may switch to it
        assert (new / "manifest.json").is_file()
        load_release(DataRoot(str(root)), new.name, CATALOGUE)
        shutil.rmtree(new)
    else:
        assert not new.exists()
    assert not [p for p in (root / "published").iterdir() if ".tmp-" in p.name]
    row.observed = f"CURRENT {current}; temporary folders removed"


@pytest.mark.slow
def test_killed_publish_leaves_the_previous_release_current(data, tmp_path, reliability):
    """SIGKILL (no clean-up runs) after the audit, before the rename: the hidden temporary
    release stays behind, unseen; the next publish removes it and becomes CURRENT."""
    row = reliability.row(
        "fault",
        tried="leo publish killed (SIGKILL) after its audit, before the rename",
        expected="previous release stays CURRENT; the next publish cleans up and switches",
    )
    root, conf, *_ = data
    env = leo_env(
        LEO_FAULT="publish:before-rename=kill",
        LEO_SPARK_MASTER="local[2]",
        LEO_SHUFFLE_PARTITIONS="4",
        LEO_SPARK_DRIVER_MEMORY="2g",
    )
    proc = run_leo(
        "--conf", str(conf), "publish", "--data", str(root), "--release", "r-killed", env=env
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert read_pointer(root / "published" / "CURRENT") == "r-one"
    assert not (root / "published" / "r-killed").exists()
    assert [p for p in (root / "published").iterdir() if p.name.startswith(".r-killed.tmp-")]
    load_release(DataRoot(str(root)), "r-one", CATALOGUE)
    env.pop("LEO_FAULT")
    proc = run_leo(
        "--conf", str(conf), "publish", "--data", str(root), "--release", "r-two", env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert read_pointer(root / "published" / "CURRENT") == "r-two"
    assert not [p for p in (root / "published").iterdir() if ".tmp-" in p.name]
    assert "r-one" in visible_releases(root)  # earlier releases stay readable
    load_release(DataRoot(str(root)), "r-one", CATALOGUE)
    row.observed = "exit -9, CURRENT r-one; rerun exit 0, CURRENT r-two, r-one readable"


# A release's manifest says when it was made and how long each step took: not its content.
TIMINGS = ("release_id", "created", "seconds", "audit.seconds", "audit.attack.seconds")
TIMINGS += ("protection.attack.seconds",)


@pytest.mark.slow
def test_interrupted_and_run_again_while_the_api_serves(spark, tmp_path, reliability):
    """The harness of tests/faults.py on `leo publish`, with `leo serve` on the data root all
    along: a fault point drawn at random, a SIGKILL of the driver at a random moment, then the
    same command to the end. The API answers from the previous release until the new one is
    complete and CURRENT, then from the new one."""
    root = tmp_path / "data"
    conf = conf_dir(tmp_path)
    (conf / "api.yaml").write_text("release_poll_seconds: 0.1\n")
    AccessDB(root / "access" / "access.db").add_analyst("a.b", "A", "O", date(2099, 1, 1))
    write_linked(root, generate(300, seed=5, first_cohort=2012, cohorts=1), run="b1")
    publish(spark, DataRoot(str(root)), str(conf), release_id="r-one")  # the one served
    write_linked(root, generate(300, seed=6, first_cohort=2012, cohorts=1), run="b2")
    job = Job(
        "publish",
        ("--conf", str(conf), "publish", "--data", "{data}"),
        outputs=("cells", "manifest.json"),
        runs="published",
        pointer="published/CURRENT",
        ignore=TIMINGS,
        inputs=("linked/b1", "linked/b2"),
        env={
            "LEO_SPARK_MASTER": "local[2]",
            "LEO_SHUFFLE_PARTITIONS": "4",
            "LEO_SPARK_DRIVER_MEMORY": "1g",
        },
    )
    before = snapshot(job, output_folder(job, root))
    # the uninterrupted run, in this root (its manifest names the input's path), then undone
    started = time.monotonic()
    publish(spark, DataRoot(str(root)), str(conf), release_id="r-reference")
    seconds = time.monotonic() - started
    reference = snapshot(job, root / "published" / "r-reference")
    shutil.rmtree(root / "published" / "r-reference")
    write_text_atomic(root / "published" / "CURRENT", "r-one\n")
    assert all(reference.values()) and reference["cells"] != before["cells"]
    with ApiWatch(root, conf) as api:
        interrupt_and_rerun(job, root, reference, before, seconds, reliability, api=api)


def test_spark_cube_equals_the_pandas_oracle(spark):
    """The grouping-sets pass (counts, numerators, cell keys from Spark's sha2, earnings
    contributors, totals, top two, quartiles and means) against plain pandas."""
    from disclosure.cube import KEY_COLUMNS
    from spark_jobs.publish import COHORT_TYPES, aggregate
    from tests.disclosure.oracle import oracle_cube

    pol = policy(max_dimensions=2)
    outcomes = generate(120, seed=9, first_cohort=2012, cohorts=1).to_pandas()
    got = aggregate(spark.createDataFrame(outcomes), CATALOGUE, pol, COHORT_TYPES)
    want = oracle_cube(outcomes, CATALOGUE, pol)
    keys = KEY_COLUMNS + DIMS
    got = got.fillna({d: "(all)" for d in DIMS}).sort_values(keys).reset_index(drop=True)
    want = want.fillna({d: "(all)" for d in DIMS}).sort_values(keys).reset_index(drop=True)
    assert len(got) == len(want) > 100
    assert got[keys].equals(want[keys])
    for col in want.columns:
        if col in keys:
            continue
        a, b = got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float)
        assert np.allclose(a, b, rtol=1e-9, atol=1e-6, equal_nan=True), col


def test_bad_research_zone_input_is_named(spark, tmp_path, reliability):
    row = reliability.row(
        "input",
        tried="leo publish with no build, and with cohort_outcomes lacking a column",
        expected="an error naming linked/LATEST, then the table and the column; nothing written",
    )
    root = tmp_path / "data"
    with pytest.raises(InputError, match="linked/LATEST"):
        publish(spark, DataRoot(str(root)), None)
    write_linked(root, generate(50, seed=1, cohorts=1).drop_columns(["activity"]), run="b")
    with pytest.raises(
        InputError, match=r"linked/b/cohort_outcomes: missing column\(s\) \['activity'\]"
    ):
        publish(spark, DataRoot(str(root)), None)
    assert not (root / "published").exists() or visible_releases(root) == []
    row.observed = "InputError naming linked/LATEST; then linked/b/cohort_outcomes and 'activity'"


def test_config_checksum_reads_the_packaged_conf_inside_a_zip(tmp_path):
    """Under spark-submit the packaged conf/ is inside the shipped zip: the manifest's
    checksum of catalogue.yaml failed there (open() on a zip entry) after the audit."""
    import hashlib
    import zipfile

    from spark_jobs.publish import config_sha256

    text = b"datasets: []\n"
    archive = tmp_path / "leo_platform.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("conf/catalogue.yaml", text)
    entry = zipfile.Path(archive, "conf/catalogue.yaml")
    assert config_sha256(entry) == hashlib.sha256(text).hexdigest()
    (tmp_path / "catalogue.yaml").write_bytes(text)
    assert config_sha256(tmp_path / "catalogue.yaml") == hashlib.sha256(text).hexdigest()
