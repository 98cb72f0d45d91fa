"""Plain sanity flags on a fitted model and a run's outputs, for the quality report.

Each flag has a severity:
- problem: the model contradicts itself or the data cannot support it (agreeing exactly
  counts against a match, disagreeing counts for one, a comparison that random pairs almost
  always agree on, probabilities that do not sum to 1, no links at all);
- check: worth a look before the links are used (weights that rise from exact towards
  "different", EM stopped at its iteration limit, m left at its starting values, a weight
  resting on a u nobody observed, far more or fewer links than the prior expects);
- note: context (a level never seen, a u from a handful of random pairs, skipped blocks,
  quarantined records, unreadable values).

Levels are ordered most similar first and the last is always "different"
(linkage/comparisons.py). Special levels (swapped names, a day/month swap) may legitimately
sit apart from the similarity chain, so the order check is: no level outweighs exact, none
weighs less than "different", and the thresholded similarity levels of one family
(jaro_winkler>=0.92, >=0.8; within_N_days; edits<=N) fall as the threshold loosens.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from linkage.expectation_maximisation import M_FLOOR
from linkage.model import ComparisonModel, Model

PROBLEM, CHECK, NOTE = "problem", "check", "note"
SEVERITIES = (PROBLEM, CHECK, NOTE)

ORDER_TOLERANCE = 0.5  # bits: weight differences smaller than this are noise
EXACT_U_NEAR_ONE = 0.9  # random pairs agree this often: the comparison tells nothing
FEW_RANDOM_PAIRS = 10  # a u from fewer random pairs than this is a rough estimate
LINKS_VS_EXPECTED = (0.5, 2.0)  # links / expected matches outside this range: check
UNREADABLE_SHARE = 0.01  # unreadable values above this share of records: check
_FAMILY = re.compile(r"^(jaro_winkler>=|within_|edits<=)")


@dataclass(frozen=True)
class Flag:
    severity: str
    where: str  # a comparison name, "prior", "EM", "blocking", "inputs"
    message: str
    level: int | None = None  # index of the level within the comparison, when one


def _observed(c: ComparisonModel, i: int) -> bool:
    """A level that neither random pairs nor EM ever put anything in has weight ~0 by
    construction (both at their floors); it is reported, not judged."""
    seen_u = not c.u_counts or c.u_counts[i] > 0
    return seen_u or c.m[i] > 10 * M_FLOOR


def check_comparison(c: ComparisonModel) -> list[Flag]:
    out: list[Flag] = []
    name = c.name
    w = c.weights()
    k = len(c.levels)

    def flag(sev: str, msg: str, level: int | None = None) -> None:
        out.append(Flag(sev, name, msg, level))

    if not (len(c.m) == len(c.u) == k):
        flag(PROBLEM, f"{k} levels but {len(c.m)} m and {len(c.u)} u values")
        return out
    for label, p in (("m", c.m), ("u", c.u)):
        if any(x < 0 or x > 1 for x in p) or abs(sum(p) - 1) > 1e-6:
            flag(PROBLEM, f"{label} values do not form a distribution (sum {sum(p):.6g})")
    exact_bad = c.levels[0] == "exact" and c.m[0] <= c.u[0]
    if exact_bad:
        flag(
            PROBLEM,
            f"m <= u at exact agreement (m {c.m[0]:.3g}, u {c.u[0]:.3g}): agreeing "
            "counts against a match",
            0,
        )
    if c.levels[0] == "exact" and c.u[0] >= EXACT_U_NEAR_ONE:
        flag(
            PROBLEM,
            f"u = {c.u[0]:.3g} at exact agreement: random pairs almost always agree, "
            "so this comparison cannot tell matches apart (a constant column?)",
            0,
        )
    last = k - 1
    last_bad = k > 1 and w[last] >= 0
    if last_bad:
        flag(
            PROBLEM,
            f"'{c.levels[last]}' has weight {w[last]:+.2f}: disagreeing counts for a match",
            last,
        )
    # the order of the levels in between, unless an end is already wrong (then every level
    # would be out of order and the problem above says why)
    seen = [i for i in range(k) if _observed(c, i)]
    middle = [i for i in seen if 0 < i < last]
    if 0 in seen and not exact_bad:
        for i in middle:
            if w[i] > w[0] + ORDER_TOLERANCE:
                flag(
                    CHECK,
                    f"'{c.levels[i]}' ({w[i]:+.2f}) outweighs exact ({w[0]:+.2f})"
                    + _few_pairs_hint(c, i),
                    i,
                )
    if last in seen and not last_bad:
        for i in middle:
            if w[i] < w[last] - ORDER_TOLERANCE:
                flag(
                    CHECK,
                    f"'{c.levels[i]}' ({w[i]:+.2f}) weighs less than '{c.levels[last]}' "
                    f"({w[last]:+.2f})",
                    i,
                )
    family = [i for i in seen if _FAMILY.match(c.levels[i])]
    for a, b in itertools.pairwise(family):
        same = _FAMILY.match(c.levels[a]).group(1) == _FAMILY.match(c.levels[b]).group(1)  # type: ignore[union-attr]
        if same and w[b] > w[a] + ORDER_TOLERANCE:
            flag(
                CHECK,
                f"weights rise as similarity loosens: '{c.levels[b]}' ({w[b]:+.2f}) above "
                f"'{c.levels[a]}' ({w[a]:+.2f})",
                b,
            )
    for i in range(k):
        n = c.u_counts[i] if c.u_counts else None
        if not _observed(c, i):
            flag(NOTE, f"'{c.levels[i]}' never seen (no random pair, no EM mass): weight 0", i)
        elif n == 0 and w[i] > 0:
            flag(
                CHECK,
                f"'{c.levels[i]}': no random pair at this level, so u is a smoothing floor "
                f"and its weight {w[i]:+.2f} rests on that floor",
                i,
            )
        elif n is not None and 0 < n < FEW_RANDOM_PAIRS and all(f.level != i for f in out):
            flag(NOTE, f"'{c.levels[i]}': u from only {n} random pair(s), a rough estimate", i)
    if not c.trained_by:
        flag(
            CHECK,
            "m not trained by any blocking rule (every rule uses its column): starting values",
        )
    return out


def _few_pairs_hint(c: ComparisonModel, i: int) -> str:
    if c.u_counts and 0 < c.u_counts[i] < FEW_RANDOM_PAIRS:
        return f"; its u rests on {c.u_counts[i]} random pair(s)"
    return ""


def expected_matches(model: Model, counts: dict[str, Any]) -> float | None:
    possible = counts.get("possible_pairs")
    return float(model.prior * possible) if possible else None


def check_model(model: Model, summary: dict[str, Any]) -> list[Flag]:
    """Flags on the model and the run's summary.json (counts, blocking, settings)."""
    out: list[Flag] = []
    for c in model.comparisons:
        out.extend(check_comparison(c))
    if not 0 < model.prior < 1:
        out.append(Flag(PROBLEM, "prior", f"prior {model.prior!r} is not a probability"))
    counts = summary.get("counts", {})
    expected = expected_matches(model, counts)
    links = counts.get("links")
    if links == 0:
        out.append(Flag(PROBLEM, "prior", "no pair reached the threshold: nothing was linked"))
    elif expected and links is not None:
        ratio = links / expected
        if not LINKS_VS_EXPECTED[0] <= ratio <= LINKS_VS_EXPECTED[1]:
            out.append(
                Flag(
                    CHECK,
                    "prior",
                    f"{links:,} links against {expected:,.0f} matches the prior expects "
                    f"({ratio:.2f} times): the threshold or the prior may be off",
                )
            )
    limit = summary.get("settings", {}).get("em_max_iterations")
    for r in model.em.get("rules", []):  # type: ignore[union-attr]
        it = r.get("iterations")
        if limit is not None and it is not None and it >= limit:
            out.append(
                Flag(
                    CHECK,
                    "EM",
                    f"rule {r['rule']}: EM stopped at the iteration limit ({limit}) "
                    "without converging",
                )
            )
    rules = summary.get("blocking", {}).get("rules", [])
    for r in rules:
        if r.get("capped_keys"):
            out.append(
                Flag(
                    NOTE,
                    "blocking",
                    f"rule {r['rule']}: {r['capped_keys']:,} block(s) over max_block_size "
                    f"skipped ({r.get('capped_records', 0):,} records, "
                    f"{r.get('capped_pairs_avoided', 0):,} pairs not generated)",
                )
            )
    n = counts.get("records") or 0
    for col, bad in (counts.get("unreadable_values") or {}).items():
        if bad and n:
            sev = CHECK if bad / n > UNREADABLE_SHARE else NOTE
            out.append(
                Flag(
                    sev,
                    "inputs",
                    f"{col}: {bad:,} unreadable value(s) ({100 * bad / n:.2f}% of records), "
                    "compared as missing or by characters",
                )
            )
    for inp in summary.get("inputs", []):
        for reason, k in (inp.get("quarantined") or {}).items():
            if k:
                out.append(Flag(NOTE, "inputs", f"{inp['table']}: {k:,} quarantined ({reason})"))
    return out
