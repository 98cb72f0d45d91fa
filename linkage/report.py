"""`leo report`: one self-contained HTML page on the quality of a linkage run.

Made from what a run already wrote, never the records (linkage/report_inputs.py):
`model.json` (prior; m, u, weight per level; EM per rule), `summary.json` (counts, blocking,
the match-weight histogram), `manifest.json` (row accounting) and `evaluation.json` (where
truth exists). So the page holds numbers, column names and rule texts: no identifier value
or key can reach it.

The page works offline: inline CSS, inline SVG charts (linkage/charts.py), no script, and a
Content-Security-Policy that forbids loading anything. Each chart has its numbers in a
<details> table beside it. Flags come from linkage/model_checks.py; targets from
linkage/evaluate.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from importlib import resources
from typing import Any

from leo.layout import SOURCES
from linkage import charts
from linkage.charts import PALETTE, BarRow, Dot, fmt_count, fmt_prob, fmt_share
from linkage.evaluate import GAP_GROUPS, GROUPS, MAX_RECALL_GAP, MIN_GROUP_PAIRS, TARGETS
from linkage.model import Model
from linkage.model_checks import CHECK, NOTE, PROBLEM, SEVERITIES, Flag, check_model
from linkage.report_inputs import ReportInputs

GROUP_TITLES = {
    "sex": "Sex",
    "ethnicity_major": "Ethnicity group",
    "fsm_eligible": "Free school meals (FSM)",
    "region": "Region",
}
MEASURES = (
    ("pairwise", "Pairwise"),
    ("cluster_pairs", "Cluster pairs"),
    ("exact_clusters", "Exact clusters"),
)


# --- HTML pieces ---------------------------------------------------------------------------


def _e(x: object) -> str:
    return escape(str(x))


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "x"


_NUMBER = re.compile(r"^[-+≥≤<>◀ ]*[0-9][0-9.,e+-]*(%| pp)?( \(.*\))?$")


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "") -> str:
    """A table whose first column heads each row; numbers align right, text left."""
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = []
    for r in rows:
        cells = [f'<th scope="row">{_e(r[0])}</th>']
        for c in r[1:]:
            cls = ' class="num"' if _NUMBER.match(str(c)) else ""
            cells.append(f"<td{cls}>{_e(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _numbers(table: str, what: str = "The numbers behind the chart") -> str:
    return f'<details class="numbers"><summary>{_e(what)}</summary>{table}</details>'


def _figure(svg: str, table: str) -> str:
    return f'<figure class="chart-wrap">{svg}</figure>{_numbers(table)}'


def _flag_list(flags: Sequence[Flag], comparisons: Sequence[str] = ()) -> str:
    """Flags as a list; with `comparisons` (the names), each says where it is, linking to
    its comparison's section."""
    if not flags:
        return ""
    items = []
    for f in flags:
        where = ""
        if comparisons:
            name = f"<b>{_e(f.where)}</b>"
            if f.where in comparisons:
                name = f'<a href="#cmp-{_slug(f.where)}">{name}</a>'
            where = name + ": "
        items.append(
            f'<li class="flag {f.severity}"><span class="sev">{f.severity}</span> '
            f"{where}{_e(f.message)}</li>"
        )
    return f'<ul class="flags">{"".join(items)}</ul>'


def _badge(ok: bool, yes: str = "met", no: str = "not met") -> str:
    return f'<span class="badge {"ok" if ok else "bad"}">{"✓ " + yes if ok else "✗ " + no}</span>'


def _card(label: str, value: str, sub: str = "", cls: str = "") -> str:
    sub_html = f'<div class="sub">{sub}</div>' if sub else ""
    return (
        f'<div class="card {cls}"><div class="label">{_e(label)}</div>'
        f'<div class="value">{value}</div>{sub_html}</div>'
    )


def _n(k: int, word: str) -> str:
    return f"{k:,} {word}" + ("" if k == 1 else "s")


def _pp(x: float) -> str:
    return f"{100 * x:.2f} pp"


# --- sections ------------------------------------------------------------------------------


def _targets(ev: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    out = []
    for (section, measure), target in TARGETS.items():
        v = float(ev.get(section, {}).get(measure, float("nan")))
        label = "F1" if measure == "f1" else measure
        out.append((f"{section.replace('_', ' ')} {label}", v, target, v >= target))
    gap = float(ev.get("max_recall_gap", float("nan")))
    out.append(("max recall gap (sex, ethnicity, FSM)", gap, MAX_RECALL_GAP, gap <= MAX_RECALL_GAP))
    return out


def _glance(inp: ReportInputs, flags: list[Flag]) -> str:
    c = inp.summary.get("counts", {})
    possible = c.get("possible_pairs") or 0
    cand = c.get("candidate_pairs", 0)
    threshold = inp.summary.get("settings", {}).get("threshold", {}).get("match_probability")
    n = {s: sum(1 for f in flags if f.severity == s) for s in SEVERITIES}
    sanity = (
        f'<span class="bad-text">{_n(n[PROBLEM], "problem")}</span>'
        if n[PROBLEM]
        else '<span class="ok-text">0 problems</span>'
    )
    cards = [
        _card(
            "Records compared",
            fmt_count(c.get("records", 0)),
            "identity profiles" if inp.manifest else "",
        ),
        _card(
            "Candidate pairs",
            fmt_count(cand),
            f"{fmt_share(cand / possible, 4)} of {fmt_count(possible)} possible"
            if possible
            else "",
        ),
        _card("Links", fmt_count(c.get("links", 0)), f"pairs with p ≥ {threshold}"),
        _card("Clusters", fmt_count(c.get("clusters", 0)), "persons" if inp.manifest else ""),
        _card(
            "Model sanity",
            sanity,
            f"{_n(n[CHECK], 'check')}, {_n(n[NOTE], 'note')}",
            "bad" if n[PROBLEM] else "",
        ),
    ]
    if inp.evaluation:
        t = _targets(inp.evaluation)
        met = sum(ok for *_, ok in t)
        missed = [name for name, _, _, ok in t if not ok]
        cards.append(
            _card(
                "Targets (ground truth)",
                f'<span class="{"ok-text" if met == len(t) else "bad-text"}">'
                f"{met} of {len(t)} met</span>",
                _e("missed: " + ", ".join(missed)) if missed else "see Evaluation",
                "" if met == len(t) else "bad",
            )
        )
    else:
        cards.append(_card("Targets", "no ground truth", "precision and recall not measurable"))
    names = [c.name for c in inp.model.comparisons]
    problems_checks = [f for f in flags if f.severity != NOTE]
    notes = [f for f in flags if f.severity == NOTE]
    body = f'<div class="cards">{"".join(cards)}</div>'
    if problems_checks:
        body += "<h3>Problems and checks</h3>" + _flag_list(problems_checks, names)
    else:
        body += '<p class="ok-text">No problems or checks: the model passes every sanity rule.</p>'
    if notes:
        summary = f"<summary>{_n(len(notes), 'note')}</summary>"
        body += f"<details>{summary}{_flag_list(notes, names)}</details>"
    body += (
        '<p class="hint">Problem: the model contradicts itself. Check: look before using the '
        "links. Note: context. The rules are listed at the end of the page.</p>"
    )
    return body


def _evaluation(inp: ReportInputs) -> str:
    ev = inp.evaluation
    if not ev:
        return (
            '<div class="notice"><b>No ground truth.</b> This run has no evaluation.json, so '
            "precision, recall and F1 cannot be measured here. <code>leo evaluate</code> needs "
            "the truth tables of synthetic data; on real data judge the run by the model "
            "checks, the weight distribution (a clear valley at the threshold) and the match "
            "rates below.</div>"
        )
    rows, table_rows = [], []
    lo = 1.0
    for key, name in MEASURES:
        s = ev.get(key, {})
        for measure in ("precision", "recall", "f1"):
            v = float(s.get(measure, float("nan")))
            target = TARGETS.get((key, measure))
            miss = target is not None and v < target
            label = "F1" if measure == "f1" else measure
            rows.append(BarRow(f"{name} {label}", [v], target, bad=miss))
            lo = min(lo, v)
        table_rows.append(
            [
                name,
                f"{s.get('precision', 0):.4f}",
                f"{s.get('recall', 0):.4f}",
                f"{s.get('f1', 0):.4f}",
                fmt_count(s.get("true_positives", 0)),
                fmt_count(s.get("predicted", 0)),
                fmt_count(s.get("actual", 0)),
            ]
        )
    d0 = _zoom(lo)
    svg = charts.bar_chart(
        "chart-evaluation",
        "Precision, recall and F1 against the targets",
        rows,
        [("score", PALETTE["m"])],
        _score,
        domain=(d0, 1.0),
        axis_label=f"axis zoomed to {d0:g}–1",
        tick_fmt=lambda t: f"{t:g}",
    )
    table = _table(
        ["measure", "precision", "recall", "F1", "true positives", "predicted", "actual"],
        table_rows,
        "Pairwise: links against true pairs of profiles. Cluster pairs: every two records of "
        "one cluster. Exact clusters: a true person found as exactly one cluster.",
    )
    targets = _table(
        ["target", "value", "required", "status"],
        [
            [
                name,
                f"{v:.4f}",
                ("≤ " if "gap" in name else "≥ ") + f"{t:g}",
                "met" if ok else "NOT MET",
            ]
            for name, v, t, ok in _targets(ev)
        ],
    )
    stale = ""
    if inp.manifest and ev.get("run") != inp.manifest.get("run"):
        stale = '<p class="bad-text">evaluation.json names another run than this one.</p>'
    return (
        f"{stale}<p>Threshold p ≥ {_e(ev.get('threshold'))}; {fmt_count(ev.get('profiles', 0))} "
        f"profiles, {fmt_count(ev.get('impure_profiles', 0))} holding two true persons. Targets "
        "are the issue's figures at 100k persons; smaller runs give noisier estimates.</p>"
        + _figure(svg, table)
        + "<h3>Targets</h3>"
        + targets
    )


def _score(v: float) -> str:
    return "1" if v >= 1 else f"{v:.4f}"


def _zoom(lo: float, floor: float = 0.95) -> float:
    """Lower end of a zoomed 0-1 axis: `floor`, or lower to show the smallest value."""
    return max(0.0, min(floor, math.floor((lo - 0.005) * 100) / 100))


def _weight_limit(model: Model) -> float:
    top = max((abs(w) for c in model.comparisons for w in c.weights()), default=10.0)
    return float(min(25, max(10, 5 * math.ceil((top + 1) / 5))))  # headroom for labels


def _prior(inp: ReportInputs) -> str:
    m = inp.model
    c = inp.summary.get("counts", {})
    possible = c.get("possible_pairs") or 0
    expected = m.prior * possible
    rows = [BarRow("expected matches (prior × possible pairs)", [expected])]
    rows.append(BarRow("links (p ≥ threshold)", [float(c.get("links", 0))]))
    if inp.evaluation:
        rows.append(
            BarRow("true pairs (ground truth)", [float(inp.evaluation["pairwise"]["actual"])])
        )
    svg = charts.bar_chart(
        "chart-prior",
        "Matches the prior expects, links made and true pairs",
        rows,
        [("pairs", PALETTE["m"])],
        fmt_count,
    )
    method = m.em.get("prior", "")
    table = _table(
        ["quantity", "value"],
        [
            ["prior λ (two random records match)", f"{m.prior:.4g}"],
            ["prior weight log2(λ/(1-λ))", f"{m.prior_weight:+.2f}"],
            ["possible pairs", fmt_count(possible)],
            *[[r.label, fmt_count(r.values[0])] for r in rows],
            ["how λ was found", method],
        ],
    )
    return (
        f"<p>λ = <b>{m.prior:.4g}</b> (weight {m.prior_weight:+.2f}): among "
        f"{fmt_count(possible)} possible pairs, about <b>{fmt_count(expected)}</b> matches. "
        "The links made should be close to that number.</p>" + _figure(svg, table)
    )


def _comparisons(inp: ReportInputs, flags: list[Flag]) -> str:
    model = inp.model
    limit = _weight_limit(model)
    label_w = charts.label_width(["! " + lv for c in model.comparisons for lv in c.levels], 120)
    overview, parts = [], []
    for c in model.comparisons:
        own = [f for f in flags if f.where == c.name]
        w = c.weights()
        overview.append(
            [
                c.name,
                c.kind,
                c.column,
                len(c.levels),
                f"{w[0]:+.2f}",
                f"{w[-1]:+.2f}",
                "yes" if c.term_frequency else "no",
                len(c.trained_by),
                ", ".join(
                    _n(sum(f.severity == sev for f in own), sev)
                    for sev in SEVERITIES
                    if any(f.severity == sev for f in own)
                )
                or "none",
            ]
        )
        flagged = {f.level for f in own if f.level is not None and f.severity != NOTE}
        svg = charts.level_chart(
            f"chart-cmp-{_slug(c.name)}",
            f"{c.name}: m, u and match weight per level",
            c.levels,
            c.m,
            c.u,
            w,
            limit,
            flagged,
            label_w,
        )
        counts = c.u_counts or [None] * len(c.levels)
        table = _table(
            ["level", "m", "u", "weight log2(m/u)", "random pairs (u)"],
            [
                [lv, f"{mm:.6g}", f"{uu:.6g}", f"{ww:+.3f}", "" if n is None else fmt_count(n)]
                for lv, mm, uu, ww, n in zip(c.levels, c.m, c.u, w, counts, strict=True)
            ],
        )
        tf = (
            " Exact agreement is adjusted for term frequency (rare values weigh more)."
            if c.term_frequency
            else ""
        )
        trained = "; ".join(c.trained_by) or "none (starting values)"
        sid = _slug(c.name)
        parts.append(
            f'<section class="comparison" id="cmp-{sid}" aria-labelledby="h-cmp-{sid}">'
            f'<h3 id="h-cmp-{sid}">{_e(c.name)} <span class="kind">{_e(c.kind)} · column '
            f"{_e(c.column)}</span></h3>"
            f'<p class="hint">m trained on the pairs of: {_e(trained)}.{tf}</p>'
            + _flag_list(own)
            + _figure(svg, table)
            + "</section>"
        )
    head = _table(
        [
            "comparison",
            "kind",
            "column",
            "levels",
            "exact weight",
            "different weight",
            "term freq.",
            "rules training m",
            "flags",
        ],
        overview,
    )
    return (
        f"<p>Per comparison: m (how often matches are at each level), u (how often random "
        f"non-matching pairs are) and the match weight log2(m/u) a pair gets at that level. "
        f"Weights should fall from exact to different; the weight axis is the same "
        f"(±{limit:g}) for every comparison. Levels marked ! are flagged.</p>"
        + head
        + "".join(parts)
    )


def _distribution(inp: ReportInputs) -> str:
    h = inp.summary.get("match_weight_histogram") or {}
    lows, pairs = h.get("bins") or [], h.get("pairs") or []
    if not lows:
        return "<p>No histogram in summary.json (no candidate pairs).</p>"
    width = float(h.get("bin_width", 0.5))
    p = float(inp.summary.get("settings", {}).get("threshold", {}).get("match_probability", 0.5))
    tw = math.log2(p / (1 - p)) if 0 < p < 1 else 0.0
    svg = charts.histogram_chart(
        "chart-histogram",
        "Match weights of all candidate pairs",
        [float(x) for x in lows],
        [int(x) for x in pairs],
        width,
        tw,
        f"threshold p ≥ {p:g} (weight {tw:+.2f})",
        inp.summary.get("counts", {}).get("links"),
    )
    table = _table(
        ["weight from", "to", "pairs", "probability at lower edge"],
        [
            [f"{x:g}", f"{x + width:g}", fmt_count(n), fmt_prob(1 / (1 + 2 ** (-x)))]
            for x, n in zip(lows, pairs, strict=True)
        ],
    )
    return (
        "<p>Every candidate pair by match weight. A sane model shows two humps, non-matches "
        "on the left and matches on the right, with few pairs in between; the threshold "
        "should sit in that valley. The log panel shows the valley's depth.</p>"
        + _figure(svg, table)
    )


def _blocking(inp: ReportInputs) -> str:
    rules = inp.summary.get("blocking", {}).get("rules", [])
    c = inp.summary.get("counts", {})
    if not rules:
        return "<p>No blocking statistics in summary.json.</p>"
    rows = []
    for r in rules:
        note = []
        if r.get("salted_keys"):
            note.append(f"{r['salted_keys']:,} salted")
        if r.get("capped_keys"):
            note.append(f"{r['capped_keys']:,} capped")
        rows.append(BarRow(r["rule"], [float(r.get("pairs", 0))], note=", ".join(note)))
    svg = charts.bar_chart(
        "chart-blocking",
        "New candidate pairs per blocking rule",
        rows,
        [("pairs", PALETTE["m"])],
        fmt_count,
        axis_label="pairs not produced by an earlier rule",
    )
    table = _table(
        [
            "rule",
            "new pairs",
            "keys",
            "largest block",
            "salted blocks",
            "capped blocks",
            "capped records",
            "pairs avoided",
        ],
        [
            [
                r["rule"],
                fmt_count(r.get("pairs", 0)),
                fmt_count(r.get("keys", 0)),
                fmt_count(r.get("largest_block", 0)),
                fmt_count(r.get("salted_keys", 0)),
                fmt_count(r.get("capped_keys", 0)),
                fmt_count(r.get("capped_records", 0)),
                fmt_count(r.get("capped_pairs_avoided", 0)),
            ]
            for r in rules
        ],
    )
    s = inp.summary.get("settings", {})
    em_rows = []
    for r in inp.model.em.get("rules", []):  # type: ignore[union-attr]
        it = r.get("iterations")
        limit = s.get("em_max_iterations")
        status = "" if it is None else ("limit reached" if limit and it >= limit else "converged")
        em_rows.append(
            [
                r["rule"],
                fmt_count(r.get("pairs", 0)),
                f"{r['lambda']:.4g}" if "lambda" in r else "",
                "" if it is None else f"{it} ({status})",
                fmt_count(r["expected_matches"]) if "expected_matches" in r else "",
                ", ".join(r.get("trained", [])) or "none",
            ]
        )
    em = _table(
        [
            "rule",
            "pairs trained on",
            "λ in these pairs",
            "EM iterations",
            "expected matches",
            "comparisons trained",
        ],
        em_rows,
        "EM trains m on each rule's pairs with that rule's columns switched off.",
    )
    return (
        f"<p>{fmt_count(c.get('candidate_pairs', 0))} candidate pairs from "
        f"{len(rules)} rules (each pair counted once, under the first rule that produced it). "
        f"Blocks over {fmt_count(s.get('salt_block_size', 0))} records are salted across "
        f"tasks; blocks over {fmt_count(s.get('max_block_size', 0))} are skipped "
        "(capped).</p>" + _figure(svg, table) + "<h3>EM per blocking rule</h3>" + em
    )


def _source_order(rates: dict[str, Any]) -> list[str]:
    """LEO's sources in pipeline order (leo/layout.py), any others after, by name."""
    return sorted(rates, key=lambda s: (SOURCES.index(s) if s in SOURCES else len(SOURCES), s))


def _rates(inp: ReportInputs) -> str:
    ev = inp.evaluation
    out = ["<h3>Match rate by source</h3>"]
    out.append(
        "<p>The share of a source's records whose person also holds records of another source.</p>"
    )
    if ev:
        rates = ev.get("match_rate_by_source", {})
        series = [("linked", PALETTE["linked"]), ("true", PALETTE["u"])]
        order = _source_order(rates)
        rows = [BarRow(s, [rates[s]["linked"], rates[s]["true"]]) for s in order]
        trows = [
            [
                s,
                fmt_count(rates[s]["records"]),
                fmt_share(rates[s]["linked"]),
                fmt_share(rates[s]["true"]),
            ]
            for s in order
        ]
        headers = ["source", "records", "linked", "true"]
    elif inp.linked_rates:
        rates = inp.linked_rates
        series = [("linked", PALETTE["linked"])]
        order = _source_order(rates)
        rows = [BarRow(s, [rates[s]["linked"]]) for s in order]
        trows = [[s, fmt_count(rates[s]["records"]), fmt_share(rates[s]["linked"])] for s in order]
        headers = ["source", "records", "linked"]
    else:
        rows = []
    if rows:
        svg = charts.bar_chart(
            "chart-match-rate",
            "Match rate by source",
            rows,
            series,
            fmt_share,
            domain=(0, 1),
            tick_fmt=lambda t: fmt_share(t, 0),
        )
        out.append(_figure(svg, _table(headers, trows)))
    else:
        out.append(f"<p>No match rates: {_e(inp.rates_note or 'nothing to count')}.</p>")
    out.append("<h3>Recall and match rate by subgroup</h3>")
    if not ev or "recall_by_group" not in ev:
        out.append(
            "<p>Subgroups (sex, ethnicity group, FSM, region) come from ground truth: not "
            "available for this run.</p>"
        )
        return "".join(out)
    out.append(
        f"<p>Recall: the share of a group's true pairs that end in one cluster. The target is "
        f"a gap of at most {_pp(MAX_RECALL_GAP)} between any two groups of sex, ethnicity "
        f"group and FSM (region is shown without a target). Groups with fewer than "
        f"{MIN_GROUP_PAIRS} true pairs are drawn hollow and left out of the gap.</p>"
    )
    by_rate = ev.get("match_rate_by_group", {})
    for g in GROUPS:
        info = ev["recall_by_group"].get(g)
        if not info:
            continue
        groups = info["groups"]
        rate = by_rate.get(g, {})
        dots = [
            Dot(
                k,
                v["recall"],
                v["true_pairs"] >= MIN_GROUP_PAIRS,
                f"{fmt_count(v['true_pairs'])} true pairs"
                + ("" if v["true_pairs"] >= MIN_GROUP_PAIRS else " (not in the gap)")
                + (
                    f"; match rate {fmt_share(rate[k]['linked'], 1)} "
                    f"(true {fmt_share(rate[k]['true'], 1)})"
                    if k in rate
                    else ""
                ),
            )
            for k, v in sorted(groups.items())
        ]
        gap = float(info.get("gap", 0.0))
        has_target = g in GAP_GROUPS
        ok = gap <= MAX_RECALL_GAP
        counted = [d.value for d in dots if d.counted] or [1.0]
        lo = min([d.value for d in dots] + ([max(counted) - MAX_RECALL_GAP] if has_target else []))
        label = f"gap {_pp(gap)}" + (
            f" (target ≤ {_pp(MAX_RECALL_GAP)}: {'met' if ok else 'NOT MET'})"
            if has_target
            else " (no target)"
        )
        svg = charts.dot_chart(
            f"chart-recall-{_slug(g)}",
            f"Recall by {GROUP_TITLES.get(g, g).lower()}",
            dots,
            (_zoom(lo, 0.99), 1.0),
            label,
            _score,
            ok or not has_target,
            MAX_RECALL_GAP if has_target else None,
        )
        table = _table(
            [
                "group",
                "persons",
                "true pairs",
                "recall",
                "in the gap",
                "match rate linked",
                "match rate true",
            ],
            [
                [
                    k,
                    fmt_count(v["persons"]),
                    fmt_count(v["true_pairs"]),
                    f"{v['recall']:.4f}",
                    "yes" if v["true_pairs"] >= MIN_GROUP_PAIRS else "no (few pairs)",
                    fmt_share(rate[k]["linked"]) if k in rate else "",
                    fmt_share(rate[k]["true"]) if k in rate else "",
                ]
                for k, v in sorted(groups.items())
            ],
        )
        badge = _badge(ok) if has_target else ""
        out.append(f"<h4>{_e(GROUP_TITLES.get(g, g))} {badge}</h4>" + _figure(svg, table))
    return "".join(out)


def _accounting(inp: ReportInputs) -> str:
    out = []
    if inp.manifest:
        acc = inp.manifest.get("row_accounting", {})
        parts = [
            ("linked", float(acc.get("linked", 0)), PALETTE["linked"]),
            (
                "unlinked (a person of one record)",
                float(acc.get("unlinked", 0)),
                PALETTE["unlinked"],
            ),
            ("quarantined", float(acc.get("quarantined", 0)), PALETTE["quarantined"]),
        ]
        ok = acc.get("accounted") == acc.get("input_rows")
        out.append(
            f"<p>{fmt_count(acc.get('input_rows', 0))} input rows, "
            f"{fmt_count(acc.get('accounted', 0))} accounted for "
            f"{_badge(ok, 'all', 'MISSING ROWS')}; "
            f"{fmt_count(inp.manifest.get('profiles', 0))} identity profiles, "
            f"{fmt_count(inp.manifest.get('persons', 0))} persons.</p>"
        )
        svg = charts.stacked_bar("chart-accounting", "Input rows by outcome", parts)
        out.append(
            _figure(svg, _table(["outcome", "rows"], [[p[0], fmt_count(p[1])] for p in parts]))
        )
        inputs = [{"table": t, **v} for t, v in (inp.manifest.get("inputs") or {}).items()]
    else:
        inputs = inp.summary.get("inputs", [])
    reasons = sorted({r for i in inputs for r in (i.get("quarantined") or {})})
    out.append("<h3>Input tables</h3>")
    out.append(
        _table(
            ["table", "rows", *[f"quarantined: {r}" for r in reasons]],
            [
                [
                    i["table"],
                    fmt_count(i.get("rows", 0)),
                    *[fmt_count((i.get("quarantined") or {}).get(r, 0)) for r in reasons],
                ]
                for i in inputs
            ],
            "A record is quarantined only when it cannot be linked at all.",
        )
    )
    c = inp.summary.get("counts", {})
    bad = c.get("unreadable_values") or {}
    n = c.get("records") or 0
    out.append("<h3>Unreadable values per column</h3>")
    if bad:
        out.append(
            _table(
                ["column", "unreadable values", "share of records"],
                [[col, fmt_count(k), fmt_share(k / n) if n else ""] for col, k in bad.items()],
                "An unreadable value (31 February, a malformed postcode) keeps its record in "
                "linkage: the field is compared as missing or by its characters.",
            )
        )
    else:
        out.append("<p>No column of a checked kind (date, postcode).</p>")
    return "".join(out)


def _rules_text() -> str:
    from linkage import model_checks as mc

    return (
        "<ul>"
        f"<li><b>problem</b>: m ≤ u at exact agreement; u ≥ {mc.EXACT_U_NEAR_ONE} at exact "
        "agreement; a non-negative weight for 'different'; m or u not summing to 1; a prior "
        "outside (0, 1); no links.</li>"
        f"<li><b>check</b>: a level outweighing exact or weighing less than 'different' by "
        f"more than {mc.ORDER_TOLERANCE} bits; weights rising along a threshold family "
        "(jaro_winkler, within days, edits); a positive weight on a level no random pair "
        f"reached; m not trained; EM at its iteration limit; links outside "
        f"{mc.LINKS_VS_EXPECTED[0]}–{mc.LINKS_VS_EXPECTED[1]} times the matches the prior "
        f"expects; unreadable values above {fmt_share(mc.UNREADABLE_SHARE, 0)} of records.</li>"
        f"<li><b>note</b>: a level never seen; a u from fewer than {mc.FEW_RANDOM_PAIRS} random "
        "pairs; capped blocks; quarantined records; unreadable values.</li></ul>"
    )


def _css() -> str:
    return resources.files("linkage").joinpath("data/report.css").read_text(encoding="utf-8")


def render(inp: ReportInputs, generated: datetime | None = None) -> str:
    """The report as one HTML document."""
    flags = check_model(inp.model, inp.summary)
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    s = inp.summary.get("settings", {})
    sections = [
        ("glance", "At a glance", _glance(inp, flags)),
        ("evaluation", "Evaluation against ground truth", _evaluation(inp)),
        ("prior", "Prior and expected matches", _prior(inp)),
        ("comparisons", "Comparisons: m, u and match weights", _comparisons(inp, flags)),
        ("distribution", "Match-weight distribution", _distribution(inp)),
        ("blocking", "Blocking", _blocking(inp)),
        ("rates", "Match rates and subgroups", _rates(inp)),
        ("accounting", "Row accounting and input quality", _accounting(inp)),
        ("rules", "How the flags are decided", _rules_text()),
    ]
    nav = "".join(f'<li><a href="#{sid}">{_e(t)}</a></li>' for sid, t, _ in sections)
    body = "".join(
        f'<section id="{sid}" aria-labelledby="h-{sid}"><h2 id="h-{sid}">{_e(t)}</h2>'
        f"{html}</section>"
        for sid, t, html in sections
    )
    prov = []
    if inp.manifest:
        m = inp.manifest
        prov.append(
            f"settings sha256 {_e(str(m.get('settings_sha256', ''))[:16])}…, code "
            f"{_e(m.get('code_version', ''))}, link took {_e(m.get('seconds', ''))} s"
        )
    title = f"Linkage quality report: {inp.title}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>{_e(title)}</title><style>{_css()}</style></head><body>"
        f'<header><h1>Linkage quality report</h1><p class="meta">{_e(inp.title)} · '
        f"{_e(s.get('link_type', ''))} · threshold p ≥ "
        f"{_e(s.get('threshold', {}).get('match_probability', ''))} · generated {when}</p></header>"
        f'<nav aria-label="Sections"><ol>{nav}</ol></nav><main>{body}</main>'
        "<footer><p>Made from model.json, summary.json, manifest.json and evaluation.json: "
        "aggregates only, no identifier value and no key. "
        + "; ".join(prov)
        + "</p></footer></body></html>\n"
    )
