"""`leo link` end to end on a small synthetic population (the generator on main), then
`leo evaluate` and `leo report`: quality thresholds scaled to the test size, the zone
contracts, row accounting, and logs and a report that hold no identifier values."""

import json
import logging
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from leo.layout import resolve_data_root
from leo.schema import LINKED_PERSONS, RECORD_PERSON
from linkage.pseudonymise import PseudonymisationKey
from tests.conftest import persisted_rdds, run_leo
from tests.linkage.reports import Page

PERSONS = 1500


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("leo-data")
    run_leo("synth", "--persons", str(PERSONS), "--seed", "7", "--out", str(root), check=True)
    return root


@pytest.mark.spark
@pytest.mark.slow
def test_link_and_evaluate(spark, synthetic: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from linkage.evaluate import evaluate_run
    from spark_jobs.link import link_leo

    root = resolve_data_root(str(synthetic))
    key = PseudonymisationKey(b"t" * 32, "test")
    cached_before = persisted_rdds(spark)
    with caplog.at_level(logging.INFO):
        run = link_leo(spark, root, key)
    assert persisted_rdds(spark) == cached_before  # the run freed every frame it cached
    assert (synthetic / "work" / "LATEST").read_text().strip() == run
    out = synthetic / "work" / run

    # contracts, exactly
    rp = pq.read_table(out / "record_person")
    assert rp.schema.names == RECORD_PERSON.names
    persons = pq.read_table(out / "persons")
    assert persons.schema.names == LINKED_PERSONS.names
    manifest = json.loads((out / "manifest.json").read_text())
    acc = manifest["row_accounting"]
    assert acc["accounted"] == acc["input_rows"] == rp.num_rows
    raw_rows = sum(
        pq.read_table(synthetic / "raw" / s).num_rows
        for s in ("ks4", "ks5", "he", "employments", "benefits")
    )
    assert raw_rows == rp.num_rows  # every input row accounted for
    assert rp.column("person_pid").null_count == acc.get("quarantined", 0)

    # no identifier value in the logs (names, dates of birth, postcodes, NINOs, the key)
    ks4 = pq.read_table(synthetic / "raw" / "employments").slice(0, 200).to_pandas()
    logs = caplog.text
    for col in ("surname", "date_of_birth", "postcode", "nino"):
        for v in ks4[col].dropna().unique()[:50]:
            assert str(v) not in logs, col
    assert "t" * 32 not in logs

    ev = evaluate_run(spark, root)
    assert json.loads((out / "evaluation.json").read_text())["run"] == run
    pw, cl = ev["pairwise"], ev["cluster_pairs"]
    # 100k-person targets are 0.995 / 0.99 / 0.99 / 2 points; a small population gives
    # noisier estimates, so the bounds here are a little wider
    assert pw["precision"] >= 0.99, pw
    assert pw["recall"] >= 0.98, pw
    assert cl["f1"] >= 0.98, cl
    assert ev["max_recall_gap"] <= 0.04, ev["recall_by_group"]
    assert set(ev["match_rate_by_source"]) == {"ks4", "ks5", "he", "employments", "benefits"}

    _check_report(synthetic, run, ev)


def _check_report(root: Path, run: str, ev: dict) -> None:  # type: ignore[type-arg]
    """`leo report` on the real run: one parseable page with a chart per comparison of the
    fitted model, the evaluation's figures, match rates that agree with the evaluation's, and
    no identifier value of any source."""
    import pyarrow.dataset as ds

    from linkage.report_inputs import linked_match_rates

    proc = run_leo("report", "--data", str(root), check=True)
    out = root / "work" / run / "report.html"
    assert str(out) in proc.stdout
    html = out.read_text(encoding="utf-8")
    page = Page(html)
    model = json.loads((root / "work" / run / "model.json").read_text())
    ids = {a["id"] for a in page.all("svg")}
    for c in model["comparisons"]:
        assert f"chart-cmp-{c['name'].replace('_', '-')}" in ids, c["name"]
    assert "chart-histogram" in ids and "chart-recall-sex" in ids
    assert f"{ev['pairwise']['precision']:.4f}" in html and "No ground truth" not in html
    # the report's own count of the match rate (used when there is no truth) agrees with
    # the evaluation's Spark aggregation
    own = linked_match_rates(
        ds.dataset(root / "work" / run / "record_person"), "source", "person_pid"
    )
    for source, rate in ev["match_rate_by_source"].items():
        assert own[source]["records"] == rate["records"], source
        assert abs(own[source]["linked"] - rate["linked"]) < 1e-12, source
    # no identifier value of any source (names, dates of birth, postcodes, NINOs)
    idents = ("forename", "middle_names", "surname", "date_of_birth", "postcode", "nino")
    values: set[str] = set()
    for source in ("ks4", "ks5", "he", "employments", "benefits"):
        t = pq.read_table(root / "raw" / source)
        for col in idents:
            if col in t.column_names:
                values.update(str(v) for v in t.column(col).unique().to_pylist() if v)
    leaked = [
        v
        for v in values
        if len(v) >= 3 and re.search(rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])", html)
    ]
    assert len(values) > 1000 and leaked == []
