"""`leo report` on hand-built runs (tests/linkage/reports.py): the page parses, is
self-contained, draws a chart per comparison with its numbers beside it, shows the flags of an
insane model and none of a sane one, says when there is no ground truth, and never shows a
value from a field it does not know (identifiers, the key origin)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leo.errors import InputError
from leo.layout import DataRoot
from linkage.report import render
from linkage.report_inputs import ReportInputs, linked_match_rates, load_dir, load_run
from tests.conftest import REPO, run_leo
from tests.linkage.reports import (
    PLANTED,
    Page,
    evaluation,
    insane_model,
    manifest,
    sane_model,
    summary,
    write_run,
)


def _inputs(model: Any, ev: dict[str, Any] | None = None, with_manifest: bool = True) -> Any:
    return ReportInputs(
        title="run r1",
        model=model,
        summary=summary(model),
        manifest=manifest("r1") if with_manifest else None,
        evaluation=ev,
    )


def _flag_items(html: str, severity: str) -> list[str]:
    return re.findall(rf'<li class="flag {severity}">(.*?)</li>', html)


def test_the_page_parses_and_has_a_chart_with_numbers_per_comparison() -> None:
    model = sane_model()
    html = render(_inputs(model, evaluation() | {"run": "r1"}))
    page = Page(html)
    svgs = page.all("svg")
    ids = {a["id"] for a in svgs}
    for c in model.comparisons:
        assert f"chart-cmp-{c.name.replace('_', '-')}" in ids, c.name
    assert {"chart-histogram", "chart-blocking", "chart-evaluation", "chart-prior"} <= ids
    # every chart is an accessible image with a title, and has a table of its numbers
    assert all(a.get("role") == "img" and a.get("aria-labelledby") for a in svgs)
    assert len(page.svg_titles) == len(svgs)
    assert html.count('<details class="numbers">') == len(svgs)
    assert page.all("h1") and len(page.all("h2")) >= 8
    # the m, u and weight of a level are in its table
    c = model.comparisons[0]
    assert f"{c.m[0]:.6g}" in html and f"{c.u[0]:.6g}" in html and f"{c.weights()[0]:+.3f}" in html


def test_the_page_loads_nothing_from_anywhere() -> None:
    page = Page(render(_inputs(insane_model(), evaluation())))
    assert not page.all("script") and not page.all("link") and not page.all("img")
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            if name == "xmlns":  # the SVG namespace is a name, not a request
                continue
            assert "://" not in value, (tag, name, value)
    csp = [a for a in page.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0]["content"]


def test_a_sane_model_shows_no_problem_or_check() -> None:
    html = render(_inputs(sane_model()))
    assert _flag_items(html, "problem") == [] and _flag_items(html, "check") == []
    assert "0 problems" in html


def test_an_insane_model_shows_its_flags_and_marks_the_levels() -> None:
    html = render(_inputs(insane_model()))
    problems = " ".join(_flag_items(html, "problem"))
    checks = " ".join(_flag_items(html, "check"))
    assert "m &lt;= u at exact agreement" in problems
    assert "u = 0.97 at exact agreement" in problems
    assert "disagreeing counts for a match" in problems
    assert "weights rise as similarity loosens" in checks
    assert "EM stopped at the iteration limit" in checks
    assert "not trained" in checks
    # the flagged level is marked in its chart (red label with a marker)
    surname_svg = re.search(r'<svg[^>]*id="chart-cmp-surname".*?</svg>', html, re.S)
    assert surname_svg and "! exact" in surname_svg.group(0)


def test_without_ground_truth_the_page_says_so() -> None:
    html = render(_inputs(sane_model(), None))
    assert "No ground truth." in html
    assert "chart-evaluation" not in html
    assert "not available for this run" in html  # subgroups need truth


def test_missed_targets_are_shown_against_their_values() -> None:
    ev = evaluation(recall=0.97, gap_low=0.96)  # recall below 0.99; sex gap 3.8 pp
    html = render(_inputs(sane_model(), ev))
    assert "2 of 4 met" in html
    assert re.search(
        r"pairwise recall</th><td[^>]*>0.9700</td><td[^>]*>≥ 0.99</td><td>NOT MET", html
    )
    assert "gap 3.80 pp (target ≤ 2.00 pp: NOT MET)" in html
    assert "gap 0.10 pp (target ≤ 2.00 pp: met)" in html  # ethnicity: 'other' has 12 pairs
    assert "(not in the gap)" in html
    assert "gap 0.90 pp (no target)" in html  # region


def test_no_value_of_an_unknown_field_reaches_the_page() -> None:
    html = render(_inputs(insane_model(), evaluation()))
    for value in PLANTED:
        assert value not in html, value


def test_text_from_the_inputs_is_escaped() -> None:
    model = sane_model()
    model.comparisons[0].name = "<script>alert(1)</script>"
    s = summary(model)
    s["blocking"]["rules"][0]["rule"] = '<img src="x">'
    inp = ReportInputs("run <marquee>", model, s)
    page = Page(render(inp))
    assert not page.all("script") and not page.all("img") and not page.all("marquee")
    assert "<script>alert(1)</script>" in "".join(page.text)  # shown as text, not run


def _record_person(path: Path, rows: list[tuple[str, str | None]]) -> None:
    path.mkdir(parents=True)
    t = pa.table({"source": [r[0] for r in rows], "person_pid": [r[1] for r in rows]})
    half = len(rows) // 2  # two part files, as Spark writes them, and its marker file
    pq.write_table(t.slice(0, half), path / "part-00000.parquet")
    pq.write_table(t.slice(half), path / "part-00001.parquet")
    (path / "_SUCCESS").write_text("")


def test_linked_match_rates_count_records_whose_person_spans_sources(tmp_path: Path) -> None:
    import pyarrow.dataset as ds

    rows = [
        ("a", "p1"), ("b", "p1"),  # p1 spans a and b
        ("a", "p2"), ("a", "p2"),  # p2 only a (two records)
        ("b", "p3"), ("b", "p3"), ("b", "p3"),
        ("a", None),  # quarantined: no person
    ]  # fmt: skip
    _record_person(tmp_path / "rp", rows)
    rates = linked_match_rates(ds.dataset(tmp_path / "rp"), "source", "person_pid")
    assert rates == {
        "a": {"records": 3, "linked": 1 / 3},
        "b": {"records": 4, "linked": 1 / 4},
    }


def test_a_run_without_evaluation_gets_match_rates_from_its_own_outputs(tmp_path: Path) -> None:
    out = write_run(tmp_path, sane_model(), run="r2", with_evaluation=False)
    _record_person(out / "record_person", [("ks4", "p1"), ("employments", "p1"), ("ks4", "p2")])
    inp, default_out = load_run(DataRoot(str(tmp_path)))
    assert inp.title == "run r2" and default_out == str(out / "report.html")
    assert inp.linked_rates == {
        "employments": {"records": 1, "linked": 1.0},
        "ks4": {"records": 2, "linked": 0.5},
    }
    html = render(inp)
    assert "chart-match-rate" in html and "50.00%" in html and "No ground truth." in html


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    out = write_run(tmp_path, sane_model(), run="r3")
    with pytest.raises(InputError, match="no such linkage run"):
        load_run(DataRoot(str(tmp_path)), "nope")
    with pytest.raises(InputError, match="not a run id"):
        load_run(DataRoot(str(tmp_path)), "../r3")
    (out / "summary.json").write_text("{not json")
    with pytest.raises(InputError, match=r"r3/summary.json: not valid JSON"):
        load_run(DataRoot(str(tmp_path)))
    (out / "model.json").unlink()
    with pytest.raises(InputError, match=r"r3/model.json not found"):
        load_run(DataRoot(str(tmp_path)))
    with pytest.raises(InputError, match="no linkage run under"):
        load_run(DataRoot(str(tmp_path / "empty")))


def test_leo_report_writes_one_file_atomically(tmp_path: Path) -> None:
    out = write_run(tmp_path, insane_model())
    proc = run_leo("report", "--data", str(tmp_path), check=True)
    assert "4 problem(s), 3 check(s)" in proc.stdout
    report = out / "report.html"
    Page(report.read_text(encoding="utf-8"))
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temp file
    # a link-tables folder: no manifest; evaluation.json beside it is used
    folder = tmp_path / "tables"
    folder.mkdir()
    for name in ("model.json", "summary.json", "evaluation.json"):
        shutil.copy(out / name, folder / name)
    target = tmp_path / "elsewhere" / "r.html"
    run_leo("report", "--dir", str(folder), "--out", str(target), check=True)
    html = target.read_text(encoding="utf-8")
    assert "Linkage quality report" in html and "chart-evaluation" in html
    inp, default = load_dir(str(folder))
    assert default == str(folder / "report.html") and inp.manifest is None
    bad = run_leo("report", "--dir", str(folder), "--run", "x")
    assert bad.returncode == 2 and "not both" in bad.stderr


@pytest.mark.browser
def test_the_report_renders_in_chromium(tmp_path: Path) -> None:
    """Chromium draws every chart (non-empty boxes), the page requests nothing beyond its own
    file and logs no error (a CSP violation would be one); a screenshot goes to
    $LEO_TEST_ARTIFACTS for a person to look at."""
    from playwright.sync_api import sync_playwright

    from tests.api.test_pages import CHROMIUM_FLAGS

    out = write_run(tmp_path, insane_model())
    run_leo("report", "--data", str(tmp_path), check=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "the browser tests need Debian's chromium (scripts/test.sh installs it)"
    artifacts = Path(os.environ.get("LEO_TEST_ARTIFACTS") or REPO / "test-artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "report.html").as_uri())
        boxes = page.eval_on_selector_all(
            "svg.chart", "els => els.map(e => [e.id, e.getBoundingClientRect().width])"
        )
        page.screenshot(path=str(artifacts / "linkage-report.png"), full_page=True)
        browser.close()
    assert requests == [(out / "report.html").as_uri()]
    assert errors == []
    assert len(boxes) >= 4 + 4 and all(w > 300 for _, w in boxes), boxes
    assert json.loads((out / "evaluation.json").read_text())["run"]  # the page read it
