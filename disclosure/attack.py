"""The differencing attack on a release: what an attacker who knows the policy can derive
about each suppressed cell from the published cells of the same release.

Systems. For one (cohort type, cohort, years after) every measure that counts people (the
counts, and the numerators of rates and shares) is a system of integer unknowns, one per
group, tied by additivity: for every grouping set h, every dimension d in h and every cell
P of h without d, P = sum of the cells of h that agree with P (a parent equals the sum of
its children, in every grouping set at once). A group absent from the release is empty (0).

Bounds, from the published cells and the policy (the attacker knows both):
- a published count p: the truth is within p +- (count_base // 2 + max noise), and >= the
  threshold (else it would be suppressed);
- a count suppressed by a primary rule: 0 to threshold - 1 (releases hold every group,
  empty ones too; 1 to threshold - 1 when zeros are published); a secondary suppression: at least
  the threshold (it passed the primary rules, and its reason says so);
- a published rate r over a published denominator p: the perturbed denominator is within
  p +- count_base // 2, so the perturbed numerator is within (r -+ step/2)% of that range,
  and the numerator within max noise of it; and >= threshold, and <= denominator - threshold
  when complements are protected;
- a suppressed rate: its numerator is 0 .. denominator; the rule says the numerator or the
  complement is under the threshold, so the attacker examines both cases separately.

Attack. Bounds are tightened by interval propagation over all constraints (cheap, sound);
then for each primary-suppressed cell (a "target") a linear programme (HiGHS, through
highspy to re-solve with warm starts) finds its smallest and largest feasible value: the strongest
attack by subtraction, since it combines every equation at once (the intersections of
references.md's example included). A target is pinned when an interval it can be in is
narrower than the policy's protection width. LP solutions are feasible points, so each one
also bounds every other target's interval from inside: a target already seen to span the
protection width in earlier solutions needs no LP of its own.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from disclosure.cube import KEY_COLUMNS
from disclosure.policy import Policy
from leo.catalogue import Catalogue, Measure

NONE_TOKEN = "\x1e(all)"  # noqa: S105 - "all" (null) in a group key; numpy strips NULs
EPS = 1e-6


@dataclass
class Finding:
    """A suppressed cell the attacker pins (or a published rate that gives a small
    numerator back)."""

    kind: str  # "pinned" | "rate_leak" | "inconsistent"
    cohort_type: str
    cohort: str
    years_after: int
    measure: str
    group: dict[str, str]
    lo: float
    hi: float
    how: str  # "propagation" | "linear programme" | "published rate"
    row: int = -1  # row index in the attacked cells
    candidates: list[int] = field(default_factory=list)  # cells whose suppression would help

    def describe(self) -> str:
        g = ", ".join(f"{k}={v}" for k, v in self.group.items()) or "all"
        what = {
            "pinned": "pinned to",
            "rate_leak": "published rate implies numerator in",
            "inconsistent": "contradicts the policy's bounds, near",
        }[self.kind]
        return (
            f"{self.cohort_type} {self.cohort} +{self.years_after} {self.measure} [{g}]: "
            f"{what} [{self.lo:g}, {self.hi:g}] ({self.how})"
        )


@dataclass
class AttackStats:
    systems: int = 0
    targets: int = 0
    linear_programmes: int = 0
    certified_by_solutions: int = 0
    min_width: float = math.inf
    widths: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @staticmethod
    def merge(parts: list[AttackStats]) -> AttackStats:
        out = AttackStats()
        for p in parts:
            out.systems += p.systems
            out.targets += p.targets
            out.linear_programmes += p.linear_programmes
            out.certified_by_solutions += p.certified_by_solutions
            out.min_width = min(out.min_width, p.min_width)
            out.widths += p.widths
            out.seconds += p.seconds
        return out

    def as_dict(self) -> dict[str, Any]:
        w = np.array(self.widths) if self.widths else np.array([np.nan])
        return {
            "systems": self.systems,
            "targets": self.targets,
            "linear_programmes": self.linear_programmes,
            "certified_by_lp_solutions": self.certified_by_solutions,
            "narrowest_interval": None if not self.widths else float(np.nanmin(w)),
            "median_interval": None if not self.widths else float(np.nanmedian(w)),
            "seconds": round(self.seconds, 2),
        }


@dataclass
class Slice:
    """The groups of one (cohort type, cohort, years after) and their additivity matrix."""

    key: tuple[str, str, int]
    groups: pd.DataFrame  # dims (None = all), one row per group
    matrix: sparse.csr_matrix  # constraints x groups: +1 parent, -1 children
    rows: dict[str, np.ndarray]  # measure -> cell row per group (-1 when absent)


def build_slices(cells: pd.DataFrame, dims: list[str]) -> list[Slice]:
    cells = cells.reset_index(drop=True)
    keyed = cells[dims].fillna(NONE_TOKEN).astype(str)
    gkey = keyed.agg("\x1f".join, axis=1) if dims else pd.Series([""] * len(cells))
    slices = []
    for key, idx in cells.groupby(KEY_COLUMNS, sort=True).indices.items():
        sub = cells.iloc[idx]
        gk = gkey.iloc[idx]
        uniq = pd.Index(gk.unique())
        groups = keyed.iloc[idx].drop_duplicates().reset_index(drop=True)
        groups.index = pd.Index(groups[dims].agg("\x1f".join, axis=1) if dims else [""])
        groups = groups.loc[uniq]
        rows: dict[str, np.ndarray] = {}
        pos = uniq.get_indexer(gk)
        for measure, midx in sub.groupby("measure").indices.items():
            r = np.full(len(uniq), -1, dtype=np.int64)
            r[pos[midx]] = idx[midx]
            rows[str(measure)] = r
        slices.append(
            Slice(
                (str(key[0]), str(key[1]), int(key[2])),
                groups.replace(NONE_TOKEN, None).reset_index(drop=True),
                _matrix(groups.reset_index(drop=True), dims),
                rows,
            )
        )
    return slices


def _matrix(groups: pd.DataFrame, dims: list[str]) -> sparse.csr_matrix:
    n = len(groups)
    index = pd.Index(groups[dims].agg("\x1f".join, axis=1) if dims else [""] * n)
    r, c, v = [], [], []
    n_constraints = 0
    for j, d in enumerate(dims):
        child = np.flatnonzero((groups[d] != NONE_TOKEN).to_numpy())
        if len(child) == 0:
            continue
        parent_keys = groups.iloc[child].copy()
        parent_keys[d] = NONE_TOKEN
        parent = index.get_indexer(parent_keys[dims].agg("\x1f".join, axis=1))
        if (parent < 0).any():
            # a grouping set above max_dimensions has no parent row in this release
            keep = parent >= 0
            child, parent = child[keep], parent[keep]
        uniq, cid = np.unique(parent, return_inverse=True)
        cid = cid + n_constraints
        r += [np.arange(len(uniq)) + n_constraints, cid]
        c += [uniq, child]
        v += [np.ones(len(uniq)), -np.ones(len(child))]
        n_constraints += len(uniq)
        del j
    if not n_constraints:
        return sparse.csr_matrix((0, n))
    return sparse.csr_matrix(
        (np.concatenate(v), (np.concatenate(r), np.concatenate(c))), shape=(n_constraints, n)
    )


def propagate(
    a: sparse.csr_matrix, lo: np.ndarray, hi: np.ndarray, rounds: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Tighten integer bounds over sum(a_i x_i) = 0 rows to a fixed point (sound: every
    integer solution within the bounds stays within the tightened ones)."""
    lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
    if a.shape[0] == 0:
        return lo, hi
    coo = a.tocoo()
    row, col, coef = coo.row, coo.col, coo.data
    for _ in range(rounds):
        cmin = np.where(coef > 0, coef * lo[col], coef * hi[col])
        cmax = np.where(coef > 0, coef * hi[col], coef * lo[col])
        rmin = np.bincount(row, cmin, minlength=a.shape[0])
        rmax = np.bincount(row, cmax, minlength=a.shape[0])
        rest_min, rest_max = rmin[row] - cmin, rmax[row] - cmax
        # coef * x = -(rest)
        bound_a, bound_b = -rest_max / coef, -rest_min / coef
        new_lo = np.minimum(bound_a, bound_b)
        new_hi = np.maximum(bound_a, bound_b)
        nlo, nhi = lo.copy(), hi.copy()
        np.maximum.at(nlo, col, np.ceil(new_lo - EPS))
        np.minimum.at(nhi, col, np.floor(new_hi + EPS))
        if np.array_equal(nlo, lo) and np.array_equal(nhi, hi):
            break
        lo, hi = nlo, nhi
    return lo, hi


@dataclass
class System:
    """One measure of one slice: bounds per group, and which groups are targets."""

    slice: Slice
    measure: Measure
    rows: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    # per target group: list of case intervals (the rule says the value is in one of them)
    cases: dict[int, list[tuple[float, float]]]
    leaks: list[int] = field(default_factory=list)  # groups whose published rate leaks


def _quiet(make: Any) -> Any:
    """HiGHS prints a banner on the process's stdout (file descriptor 1) when a solver is
    made, before any option can be set; `leo audit-release --json` must print JSON only."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return make()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class _Programme:
    """One system's linear programme in HiGHS (highspy), built once and re-solved with a
    new objective each time: warm starts from the previous basis make a re-solve a few
    simplex iterations (about 1 ms against 8-13 ms for a fresh scipy linprog on a KS4
    system of 471 cells, measured on the shared machine). Every
    solution is a feasible point; seen_lo/seen_hi hold the range of each variable over
    them."""

    def __init__(self, a: sparse.csr_matrix, lo: np.ndarray, hi: np.ndarray) -> None:
        import highspy

        n, m = a.shape[1], a.shape[0]
        self.n = n
        self.h = _quiet(highspy.Highs)
        self.h.setOptionValue("output_flag", False)
        # a new objective keeps the basis primal feasible: primal simplex from it, without
        # presolve (which would discard the basis), is ~1 ms per solve on a KS4 system
        self.h.setOptionValue("presolve", "off")
        self.h.setOptionValue("simplex_strategy", 4)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_, lp.col_upper_ = lo.astype(np.float64), hi.astype(np.float64)
        lp.row_lower_, lp.row_upper_ = np.zeros(m), np.zeros(m)
        csc = a.tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = csc.indptr
        lp.a_matrix_.index_ = csc.indices
        lp.a_matrix_.value_ = csc.data
        self.h.passModel(lp)
        self._nonzero = np.zeros(0, dtype=np.int64)
        self.seen_lo = np.full(n, np.inf)
        self.seen_hi = np.full(n, -np.inf)
        self.solves = 0
        self._optimal = highspy.HighsModelStatus.kOptimal

    def solve(self, c: np.ndarray) -> np.ndarray | None:
        """Minimise c.x; the solution, or None when infeasible."""
        self.solves += 1
        nz = np.flatnonzero(c)
        touched = np.union1d(self._nonzero, nz).astype(np.int32)
        self.h.changeColsCost(len(touched), touched, c[touched].astype(np.float64))
        self._nonzero = nz
        self.h.run()
        if self.h.getModelStatus() != self._optimal:
            # a warm start can stall (rarely, after many objectives): solve afresh, dual
            self.h.clearSolver()
            self.h.setOptionValue("simplex_strategy", 1)
            self.h.run()
            self.h.setOptionValue("simplex_strategy", 4)
        if self.h.getModelStatus() != self._optimal:
            return None
        x = np.asarray(self.h.getSolution().col_value)
        np.minimum(self.seen_lo, x, out=self.seen_lo)
        np.maximum(self.seen_hi, x, out=self.seen_hi)
        return x


class Attack:
    """The attacker's view of one release: published cells and the policy, nothing else."""

    def __init__(
        self,
        cells: pd.DataFrame,
        catalogue: Catalogue,
        policy: Policy,
        dims: list[str],
        propagation: bool = True,
    ) -> None:
        """`propagation=False` leaves bounds as the cells give them, so that only the
        linear programmes find what subtraction reveals (the tests prove each alone finds
        references.md's intersection)."""
        self.propagation = propagation
        self.cells = cells.reset_index(drop=True)
        self.catalogue = catalogue
        self.policy = policy
        self.dims = dims
        self.slices = build_slices(self.cells, dims)
        self.stats = AttackStats()

    # -- bounds -----------------------------------------------------------------------------

    def _big(self, sl: Slice) -> float:
        """An upper bound for any count of the slice: the sum of every published count's
        upper bound plus threshold - 1 per group. The largest published count alone is
        not one (once the total is suppressed, it is below the total); an astronomically
        large bound costs HiGHS its precision on these small integer systems."""
        pop = sl.rows.get(self.catalogue.population.id)
        if pop is None:
            return 1e9
        v = self.cells["value"].to_numpy(dtype=np.float64, na_value=np.nan)[pop[pop >= 0]]
        v = v[~np.isnan(v)]
        return float((v + self.policy.count_slack).sum() + self.policy.threshold * len(pop))

    def count_system(self, sl: Slice, m: Measure) -> System:
        p, t = self.policy, self.policy.threshold
        rows = sl.rows[m.id]
        big = self._big(sl)
        value, status, reason = self._columns(rows)
        published = (status != "suppressed") & ~np.isnan(value)
        secondary = (status == "suppressed") & (reason == p.reason_secondary)
        primary = (status == "suppressed") & ~secondary
        lo = np.zeros(len(rows))
        hi = np.full(len(rows), big)
        slack = p.count_slack
        lo[published] = np.maximum(value[published] - slack, t)
        hi[published] = value[published] + slack
        zero = published & (value == 0)
        lo[zero], hi[zero] = 0, 0
        # releases hold every group, empty ones too, so a suppressed count may be zero
        # unless zeros are published
        lo0 = 0 if p.zeros_disclosive else 1
        lo[primary], hi[primary] = lo0, t - 1
        lo[secondary] = t
        lo, hi = self._propagate(sl, lo, hi)
        cases = {int(g): [(lo0, t - 1)] for g in np.flatnonzero(primary)}
        return System(sl, m, rows, lo, hi, cases)

    def numerator_system(self, sl: Slice, m: Measure, pop: System) -> System:
        p, t = self.policy, self.policy.threshold
        rows = sl.rows[m.id]
        value, status, reason = self._columns(rows)
        pvalue, pstatus, _ = self._columns(pop.rows)
        n_lo, n_hi = pop.lo, pop.hi
        hb, d = p.rounding.count_half, p.max_noise
        half = p.rounding.rate_step_pp / 2
        pub = (status != "suppressed") & ~np.isnan(value)
        den_pub = (pstatus != "suppressed") & ~np.isnan(pvalue)
        # range of the perturbed denominator the rate was computed over
        dlo = np.where(den_pub, pvalue - hb, n_lo - d)
        dhi = np.where(den_pub, pvalue + hb, n_hi + d)
        with np.errstate(invalid="ignore"):
            k_lo = np.ceil((value - half) / 100 * dlo - EPS) - d
            k_hi = np.floor((value + half) / 100 * dhi + EPS) + d
        k_lo, k_hi = np.maximum(k_lo, 0), np.minimum(k_hi, n_hi)
        comp = p.rates.protect_complement
        leaks = pub & ((k_hi < t) | (comp & (n_hi - k_lo < t)))
        lo = np.zeros(len(rows))
        hi = n_hi.astype(np.float64).copy()
        lo[pub], hi[pub] = np.maximum(k_lo[pub], t), k_hi[pub]
        if comp:
            hi[pub] = np.minimum(hi[pub], n_hi[pub] - t)
        secondary = (status == "suppressed") & (reason == p.reason_secondary)
        group = (status == "suppressed") & (reason == p.reason_group)
        rate = (status == "suppressed") & ~secondary & ~group
        lo[secondary] = t
        if comp:
            hi[secondary] = n_hi[secondary] - t
        hi[group] = np.minimum(n_hi[group], t - 1)
        # a leaking published rate must not make the system infeasible for the LP
        lo, hi = np.where(leaks, k_lo, lo), np.where(leaks, k_hi, hi)
        lo, hi = self._propagate(sl, lo, np.maximum(hi, lo))
        cases: dict[int, list[tuple[float, float]]] = {}
        for g in np.flatnonzero(group):
            cases[int(g)] = [(0, t - 1)]
        for g in np.flatnonzero(rate):
            cases[int(g)] = [(0, t - 1)]
            if comp:
                cases[int(g)].append((n_lo[g] - t + 1, n_hi[g]))
        return System(sl, m, rows, lo, hi, cases, leaks=[int(g) for g in np.flatnonzero(leaks)])

    def _propagate(
        self, sl: Slice, lo: np.ndarray, hi: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return propagate(sl.matrix, lo, hi) if self.propagation else (lo, hi)

    def _columns(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ok = rows >= 0
        safe = np.where(ok, rows, 0)
        value = self.cells["value"].to_numpy(dtype=np.float64, na_value=np.nan)[safe]
        status = self.cells["status"].to_numpy()[safe]
        reason = self.cells["reason"].to_numpy()[safe]
        value = np.where(ok, value, np.nan)
        status = np.where(ok, status, "absent")
        return value, status, reason

    def systems(self, sl: Slice) -> list[System]:
        pop_m = self.catalogue.population
        if pop_m.id not in sl.rows:
            return []
        pop = self.count_system(sl, pop_m)
        out = [pop]
        for m in self.catalogue.measures:
            if m.id == pop_m.id or m.id not in sl.rows:
                continue
            if m.kind == "count":
                out.append(self.count_system(sl, m))
            elif m.kind in ("rate", "share"):
                out.append(self.numerator_system(sl, m, pop))
        return out

    # -- the attack -------------------------------------------------------------------------

    def solve(self, system: System, only: set[int] | None = None) -> list[Finding]:
        """Findings for one system: pinned targets and leaking rates. `only` limits the
        targets examined (a caller that has only widened bounds since the last solve
        re-examines the targets that were pinned)."""
        w = self.policy.differencing.protection_width
        findings = [self._finding(system, g, "rate_leak", "published rate") for g in system.leaks]
        self.stats.systems += 1
        crossed = np.flatnonzero(system.lo > system.hi + EPS)
        if len(crossed):
            # no values satisfy the equations within the policy's bounds: the release is
            # not what its policy says (the attacker learns that the rules were broken)
            return [
                *findings,
                self._finding(system, int(crossed[0]), "inconsistent", "propagation"),
            ]
        targets = sorted(g for g in system.cases if only is None or g in only)
        if not targets:
            return findings
        self.stats.targets += len(targets)
        lo, hi = system.lo, np.maximum(system.hi, system.lo)

        def spread(g: int, glo: float, ghi: float) -> tuple[int, list[tuple[int, int]]]:
            """How many values (minus one) the attacker cannot rule out for g, given that g
            lies in [glo, ghi] and in one of its cases."""
            if not (math.isfinite(glo) and math.isfinite(ghi)):
                return -1, []  # no feasible point seen yet
            glo, ghi = math.ceil(glo - EPS), math.floor(ghi + EPS)
            parts = []
            for clo, chi in system.cases[g]:
                a_lo, a_hi = max(glo, math.ceil(clo - EPS)), min(ghi, math.floor(chi + EPS))
                if a_lo <= a_hi:
                    parts.append((a_lo, a_hi))
            return sum(b - a + 1 for a, b in parts) - 1, parts

        pinned_by_bounds = [g for g in targets if spread(g, lo[g], hi[g])[0] < w - EPS]
        open_ = [g for g in targets if g not in set(pinned_by_bounds)]
        result: dict[int, tuple[int, list[tuple[int, int]], str]] = {
            g: (*spread(g, lo[g], hi[g]), "propagation") for g in pinned_by_bounds
        }
        if open_:
            lp = _Programme(system.slice.matrix, lo, hi)
            rng = np.random.default_rng(0)
            uncertified = list(open_) if len(open_) > 2 else []
            # joint directions first: each solution is a feasible point for every target.
            # Push each target not yet seen to span the protection width towards the side
            # it lacks (up when nothing high enough has been seen, else down); those that
            # got there drop out, so the next solution pushes the others (children of a
            # small parent cannot all be high at once, but take turns). Stop when two
            # solutions in a row certify nothing.
            idle = 0
            first = True
            while uncertified and idle < 2:
                u = np.array(uncertified)
                weight = rng.uniform(0.5, 1.5, len(u))
                if first:
                    up = np.ones(len(u), dtype=bool)
                else:
                    up = (lp.seen_hi[u] - lo[u]) < (hi[u] - lp.seen_lo[u])
                c = np.zeros(len(lo))
                c[u] = np.where(up, -weight, weight)
                lp.solve(c)
                if first:
                    lp.solve(-c)
                    first = False
                left = [
                    g for g in uncertified if spread(g, lp.seen_lo[g], lp.seen_hi[g])[0] < w - EPS
                ]
                idle = idle + 1 if len(left) == len(uncertified) else 0
                uncertified = left
            for g in open_:
                s_seen, _ = spread(g, lp.seen_lo[g], lp.seen_hi[g])
                if s_seen >= w - EPS:
                    self.stats.certified_by_solutions += 1
                    self.stats.widths.append(float(s_seen))  # a lower bound
                    continue
                c = np.zeros(len(lo))
                c[g] = 1.0
                xmin, xmax = lp.solve(c), lp.solve(-c)
                if xmin is None or xmax is None:
                    findings.append(self._finding(system, g, "inconsistent", "linear programme"))
                    break
                result[g] = (*spread(g, xmin[g], xmax[g]), "linear programme")
            self.stats.linear_programmes += lp.solves
        for g, (width, parts, how) in sorted(result.items()):
            if not parts:
                # the cell's own rule says it is in none of the values the equations allow
                findings.append(self._finding(system, g, "inconsistent", how))
                continue
            self.stats.widths.append(float(width))
            self.stats.min_width = min(self.stats.min_width, width)
            if width < w - EPS:
                f = self._finding(system, g, "pinned", how)
                f.lo, f.hi = float(min(a for a, _ in parts)), float(max(b for _, b in parts))
                f.candidates = self._candidates(system, g)
                findings.append(f)
        return findings

    def _finding(self, system: System, g: int, kind: str, how: str) -> Finding:
        ct, cohort, ya = system.slice.key
        group = {d: v for d, v in system.slice.groups.iloc[g].items() if v is not None}
        return Finding(
            kind,
            ct,
            cohort,
            ya,
            system.measure.id,
            group,
            float(system.lo[g]),
            float(system.hi[g]),
            how,
            row=int(system.rows[g]),
        )

    def _candidates(self, system: System, g: int) -> list[int]:
        """Published cells sharing an equation with group g: siblings first (smallest
        value first), then parents, then children; then the same for the suppressed cells
        that share an equation with g (when g's own equations have nothing left); as cell
        rows."""
        a = system.slice.matrix.tocsc()
        ar = system.slice.matrix
        value, status, _ = self._columns(system.rows)
        published = (status != "suppressed") & (system.rows >= 0)
        ranked: list[tuple[int, float, int]] = []
        frontier, seen = [g], {g}
        for hop in range(2):
            nxt = []
            for x in frontier:
                col = a.getcol(x).tocoo()
                for r, coef in zip(col.row, col.data, strict=True):
                    row = ar.getrow(r).tocoo()
                    for j, cj in zip(row.col, row.data, strict=True):
                        if j == x:
                            continue
                        if not published[j]:
                            if j not in seen:
                                seen.add(j)
                                nxt.append(int(j))
                            continue
                        rank = 0 if (coef < 0 and cj < 0) else 1 if coef < 0 else 2
                        ranked.append((3 * hop + rank, float(value[j]), int(system.rows[j])))
            frontier = nxt
        out: list[int] = []
        for _, _, row in sorted(set(ranked)):
            if row not in out:
                out.append(row)
        return out

    def run(self) -> list[Finding]:
        """Attack every slice (in this process; see run_attack for all slices at once)."""
        start = time.perf_counter()
        findings: list[Finding] = []
        for sl in self.slices:
            for system in self.systems(sl):
                findings += self.solve(system)
        self.stats.seconds += time.perf_counter() - start
        return findings


def _attack_slice(
    part: pd.DataFrame, catalogue: Catalogue, policy: Policy, dims: list[str]
) -> tuple[list[Finding], AttackStats]:
    a = Attack(part, catalogue, policy, dims)
    return a.run(), a.stats


def run_attack(
    cells: pd.DataFrame, catalogue: Catalogue, policy: Policy, dims: list[str]
) -> tuple[list[Finding], AttackStats]:
    """The attack on every slice, in worker processes (disclosure/slices.py)."""
    from functools import partial

    from disclosure.slices import map_slices, split

    if cells.empty:
        return [], AttackStats()
    fn = partial(_attack_slice, catalogue=catalogue, policy=policy, dims=dims)
    results = map_slices(fn, split(cells))
    findings = [f for r in results for f in r[0]]
    return findings, AttackStats.merge([r[1] for r in results])
