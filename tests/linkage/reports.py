"""Hand-built inputs of the linkage report: a sane model, an insane one, a run's summary and
an evaluation, small enough to read. `write_run` lays them out as `leo link` does; `Page`
parses a report."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from linkage.model import ComparisonModel, Model

# Identifier-like values planted in fields the report must not show (see test_report.py).
PLANTED = ["FEATHERSTONEHAUGH", "1987-02-31", "ZZ9 9ZZ", "QQ123456C", "k" * 40]


def _cmp(
    name: str, kind: str, levels: list[str], m: list[float], u: list[float]
) -> ComparisonModel:
    return ComparisonModel(
        name=name,
        column=name,
        kind=kind,
        levels=levels,
        m=m,
        u=u,
        term_frequency=kind == "name",
        trained_by=["nino"],
        u_counts=[round(x * 1_000_000) for x in u],
    )


def sane_model() -> Model:
    """Weights fall from exact to different in every comparison; EM converged."""
    return Model(
        prior=0.0008,
        comparisons=[
            _cmp(
                "surname",
                "name",
                ["exact", "jaro_winkler>=0.92", "jaro_winkler>=0.8", "different"],
                [0.90, 0.05, 0.03, 0.02],
                [0.002, 0.001, 0.007, 0.990],
            ),
            _cmp(
                "date_of_birth",
                "date",
                ["exact", "one_edit", "different"],
                [0.95, 0.04, 0.01],
                [0.001, 0.009, 0.990],
            ),
            _cmp("sex", "exact", ["exact", "different"], [0.999, 0.001], [0.5, 0.5]),
        ],
        em={
            "rules": [
                {
                    "rule": "nino",
                    "pairs": 900,
                    "lambda": 0.99,
                    "iterations": 6,
                    "expected_matches": 891.0,
                    "trained": ["surname", "date_of_birth", "sex"],
                }
            ],
            "prior": "fixed point over all candidate pairs (5 iterations)",
        },
    )


def insane_model() -> Model:
    """One fault of each kind the checks know."""
    model = sane_model()
    # exact agreement counts against a match
    model.comparisons[0].m = [0.001, 0.05, 0.03, 0.919]
    # a constant column: random pairs agree 97% of the time; 'different' counts for a match
    model.comparisons[2].m = [0.5, 0.5]
    model.comparisons[2].u = [0.97, 0.03]
    model.comparisons[2].u_counts = [970_000, 30_000]
    # weights rise as similarity loosens; never trained
    model.comparisons.append(
        ComparisonModel(
            name="forename",
            column="forename",
            kind="name",
            levels=["exact", "jaro_winkler>=0.92", "jaro_winkler>=0.8", "different"],
            m=[0.80, 0.01, 0.15, 0.04],
            u=[0.003, 0.004, 0.003, 0.990],
            trained_by=[],
            u_counts=[3000, 4000, 3000, 990_000],
        )
    )
    model.em["rules"][0]["iterations"] = 100  # type: ignore[index]
    return model


def summary(model: Model, links: int | None = None) -> dict[str, Any]:
    possible = 1_250_000
    expected = model.prior * possible
    lows = [x / 2 for x in range(-30, 60)]
    # two humps: non-matches around -12, matches around +18
    pairs = [
        int(4000 * math.exp(-(((x + 12) / 4) ** 2)) + 900 * math.exp(-(((x - 18) / 5) ** 2)))
        for x in lows
    ]
    return {
        "settings": {
            "link_type": "link_and_dedupe",
            "unique_id_column": "profile_key",
            "source_column": "source",
            "blocking_rules": [["nino"], ["date_of_birth", "soundex(surname)"]],
            "threshold": {"match_probability": 0.9},
            "max_block_size": 5000,
            "salt_block_size": 500,
            "em_max_iterations": 100,
        },
        "inputs": [
            {"table": "raw/ks4", "rows": 600, "quarantined": {}},
            {"table": "raw/employments", "rows": 1200, "quarantined": {"no unique id": 3}},
        ],
        "counts": {
            "records": 1590,
            "records_by_source": {"ks4": 600, "employments": 990},
            "unreadable_values": {"date_of_birth": 4, "postcode": 0},
            "candidate_pairs": 3100,
            "possible_pairs": possible,
            "links": round(expected) if links is None else links,
            "clusters": 640,
        },
        "blocking": {
            "rules": [
                {
                    "rule": "nino",
                    "keys": 600,
                    "largest_block": 12,
                    "salted_keys": 0,
                    "capped_keys": 0,
                    "capped_records": 0,
                    "capped_pairs_avoided": 0,
                    "pairs": 2000,
                },
                {
                    "rule": "date_of_birth & soundex(surname)",
                    "keys": 700,
                    "largest_block": 800,
                    "salted_keys": 2,
                    "capped_keys": 1,
                    "capped_records": 6000,
                    "capped_pairs_avoided": 17_997_000,
                    "pairs": 1100,
                },
            ]
        },
        "match_weight_histogram": {"bin_width": 0.5, "bins": lows, "pairs": pairs},
        # not a field the report knows: it must not be shown
        "debug_sample": {"surname": PLANTED[0], "date_of_birth": PLANTED[1]},
    }


def evaluation(recall: float = 0.995, gap_low: float = 0.994) -> dict[str, Any]:
    def prf(p: float, r: float) -> dict[str, Any]:
        return {
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r),
            "true_positives": 990,
            "predicted": 995,
            "actual": 1000,
        }

    def groups(**recalls: float) -> dict[str, Any]:
        g = {k: {"recall": v, "true_pairs": 400, "persons": 90} for k, v in recalls.items()}
        gap = max(recalls.values()) - min(recalls.values())
        return {"groups": g, "gap": gap}

    sex = groups(F=0.998, M=gap_low)
    by_group = {
        "sex": sex,
        "ethnicity_major": groups(white=0.997, asian=0.996),
        "fsm_eligible": groups(**{"True": 0.997, "False": 0.996}),
        "region": groups(E12000001=0.999, E12000007=0.990),
    }
    by_group["ethnicity_major"]["groups"]["other"] = {"recall": 0.9, "true_pairs": 12, "persons": 3}
    rate = {"records": 100, "linked": 0.9, "true": 0.92}
    return {
        "run": "20250101T000000Z-abcd",
        "threshold": 0.9,
        "profiles": 1590,
        "impure_profiles": 0,
        "pairwise": prf(0.997, recall),
        "cluster_pairs": prf(0.999, 0.998),
        "exact_clusters": prf(0.99, 0.99),
        "match_rate_by_source": {"ks4": rate, "employments": rate},
        "match_rate_by_group": {"sex": {"F": rate, "M": rate}},
        "recall_by_group": by_group,
        "max_recall_gap": max(
            by_group[g]["gap"] for g in ("sex", "ethnicity_major", "fsm_eligible")
        ),
        "examples": [{"nino": PLANTED[3], "postcode": PLANTED[2]}],  # unknown: never shown
    }


def manifest(run: str) -> dict[str, Any]:
    return {
        "run": run,
        "kind": "linkage",
        "inputs": {
            "raw/ks4": {"rows": 600, "quarantined": {}},
            "raw/employments": {"rows": 1200, "quarantined": {"no unique id": 3}},
        },
        "row_accounting": {
            "input_rows": 1800,
            "linked": 1700,
            "unlinked": 97,
            "quarantined": 3,
            "accounted": 1800,
        },
        "profiles": 1590,
        "persons": 640,
        "settings_sha256": "0" * 64,
        "code_version": "0.1.0",
        "seconds": 12.5,
        "key_origin": PLANTED[4],  # never shown
    }


def write_run(
    root: Path, model: Model, run: str = "20250101T000000Z-abcd", with_evaluation: bool = True
) -> Path:
    out = root / "work" / run
    out.mkdir(parents=True)
    (out / "model.json").write_text(model.to_json())
    (out / "summary.json").write_text(json.dumps(summary(model)))
    (out / "manifest.json").write_text(json.dumps(manifest(run)))
    if with_evaluation:
        ev = evaluation() | {"run": run}
        (out / "evaluation.json").write_text(json.dumps(ev))
    (root / "work" / "LATEST").write_text(run + "\n")
    return out


class Page(HTMLParser):
    """Tags with their attributes, the text, and which element each text sits in."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.text: list[str] = []
        self.svg_titles: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag != "meta":  # the page's only void element; the SVG's elements are closed
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack[-2:] == ["svg", "title"]:
            self.svg_titles.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag]
