"""Comparison levels per kind (design section 5, step 4), vectorised over whole columns.

Records are dictionary-encoded first (`encode_local`, or the Spark job's global dictionary):
each string column becomes int32 codes into an array of its distinct values (-1 = missing).
A pair then carries two small integers per column, exact agreement is an integer comparison,
and string similarities (rapidfuzz `cpdist`, C++) are computed once per distinct pair of
values in a batch, however often that pair occurs. Name columns share one dictionary, so a
forename can be compared with a surname (name order).

`gamma(comparison, left, right, dictionaries)` takes two aligned frames of coded records
(row i of `left` is paired with row i of `right`) and returns one int8 level per pair: 0 is
the most similar level, the last is "different", -1 means a value is missing on either side.

The same functions serve both backends: inside Spark `mapInPandas` (`compare_batch`) and as
`recordlinkage` compare features on a single node (linkage/compare_features.py, kept apart
because importing recordlinkage takes seconds, which every Spark Python worker would pay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from linkage.settings import Comparison, Settings
from linkage.standardise import SEP

MISSING = -1
NAMES = "__names__"  # the dictionary shared by all name columns
DEFAULT_THRESHOLDS = {
    "name": [0.92, 0.8],
    "string": [0.9, 0.7],
    "date": [365.0],
    "identifier": [1.0],
    "numeric": [1.0],
}


def thresholds(comp: Comparison) -> list[float]:
    return list(comp.thresholds or DEFAULT_THRESHOLDS.get(comp.kind, []))


def level_names(comp: Comparison) -> list[str]:
    """The levels of a comparison, most similar first; the last is always 'different'."""
    t = thresholds(comp)
    if comp.kind == "name":
        swapped = ["swapped"] if comp.swap_with else []
        head = ["exact", *swapped, "nickname", "token", "initial"]
        return head + [f"jaro_winkler>={x:g}" for x in t] + ["different"]
    if comp.kind == "string":
        return ["exact"] + [f"jaro_winkler>={x:g}" for x in t] + ["different"]
    if comp.kind == "date":
        within = [f"within_{x:g}_days" for x in t]
        return ["exact", "day_month_swapped", "one_edit", *within, "different"]
    if comp.kind == "postcode":
        return ["exact", "one_edit", "sector", "district", "different"]
    if comp.kind == "identifier":
        return ["exact"] + [f"edits<={x:g}" for x in t] + ["different"]
    if comp.kind == "numeric":
        return ["exact"] + [f"within_{x:g}" for x in t] + ["different"]
    return ["exact", "different"]


def tf_column(comp: Comparison) -> str:
    return tf_column_of(comp.column)


def tf_column_of(column: str) -> str:
    """Each record's frequency of its value in `column` (term-frequency adjustment)."""
    return f"{column}__tf"


def coded_columns(comp: Comparison) -> list[str]:
    """String columns of each side a comparison reads (dictionary-encoded)."""
    c = comp.column
    if comp.kind == "numeric":
        return []
    cols = [c]
    if comp.kind == "name":
        cols.append(f"{c}__canon")
        if comp.swap_with:
            cols.append(comp.swap_with)
    elif comp.kind == "postcode":
        cols += [f"{c}__sector", f"{c}__district"]
    return cols


def numeric_columns(comp: Comparison) -> list[str]:
    c = comp.column
    cols = []
    if comp.kind == "date":
        cols = [f"{c}__y", f"{c}__m", f"{c}__d", f"{c}__days"]
    elif comp.kind == "numeric":
        cols = [f"{c}__num"]
    if comp.tf:
        cols.append(tf_column(comp))
    return cols


def dictionary_of(column: str, settings: Settings) -> str:
    """Which dictionary encodes a column: name columns share one."""
    names = {c.column for c in settings.comparisons if c.kind == "name"}
    return NAMES if column in names else column


def pair_side_columns(settings: Settings) -> list[str]:
    """Every record column the comparisons read (coded string columns, then numeric)."""
    cols: list[str] = []
    for comp in settings.comparisons:
        cols.extend(coded_columns(comp))
    for comp in settings.comparisons:
        cols.extend(numeric_columns(comp))
    return list(dict.fromkeys(cols))


def coded_side_columns(settings: Settings) -> list[str]:
    cols: list[str] = []
    for comp in settings.comparisons:
        cols.extend(coded_columns(comp))
    return list(dict.fromkeys(cols))


@dataclass
class Dictionaries:
    """dictionary name -> distinct values (a value's code is its position)."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # column -> dictionary name
    # (dictionary, flag) -> the flag of every value, computed once where first asked for
    flags: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False)

    def of(self, column: str) -> np.ndarray:
        return self.values[self.columns[column]]

    def flag(self, column: str, name: str, fn: Callable[[str], bool]) -> np.ndarray:
        """fn of each value of the column's dictionary, and False at index -1 (missing)."""
        key = (self.columns[column], name)
        if key not in self.flags:
            values = self.of(column)
            self.flags[key] = np.array([bool(fn(v)) for v in values] + [False], dtype=bool)
        return self.flags[key]

    def __getstate__(self) -> dict[str, object]:  # the cache is rebuilt where it is used
        return {"values": self.values, "columns": self.columns, "flags": {}}


def encode_local(records: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, Dictionaries]:
    """Replace each coded column of standardised records by int32 codes (-1 missing)."""
    dicts = Dictionaries()
    out = records.copy()
    groups: dict[str, list[str]] = {}
    for col in coded_side_columns(settings):
        groups.setdefault(dictionary_of(col, settings), []).append(col)
    for name, cols in groups.items():
        stacked = np.concatenate([records[c].to_numpy(dtype=object) for c in cols])
        codes, uniques = pd.factorize(stacked, use_na_sentinel=True)
        dicts.values[name] = np.asarray(uniques, dtype=object)
        for k, c in enumerate(cols):
            out[c] = codes[k * len(records) : (k + 1) * len(records)].astype(np.int32)
            dicts.columns[c] = name
    return out, dicts


class Encoded:
    """One coded column of a batch of pairs."""

    def __init__(
        self, left: pd.Series | np.ndarray, right: pd.Series | np.ndarray, values: np.ndarray
    ) -> None:
        self.l = codes_of(left)
        self.r = codes_of(right)
        self.values = values
        self.missing = (self.l < 0) | (self.r < 0)

    def exact(self) -> np.ndarray:
        return ~self.missing & (self.l == self.r)

    def flag(self, per_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A per-value flag (`Dictionaries.flag`) for each side (False where missing)."""
        return per_value[self.l], per_value[self.r]

    def pairwise(
        self,
        todo: np.ndarray,
        fn: Callable[[list[str], list[str]], object],
        fill: object,
        dtype: object,
    ) -> np.ndarray:
        """fn(values_a, values_b) -> array, evaluated on the distinct value pairs of `todo`."""
        out = np.full(len(self.l), fill, dtype=dtype)
        idx = np.flatnonzero(todo)
        if len(idx):
            n = np.int64(len(self.values))
            keys = self.l[idx].astype(np.int64) * n + self.r[idx]
            inverse, distinct = pd.factorize(keys)
            a = self.values[distinct // n]
            b = self.values[distinct % n]
            out[idx] = np.asarray(fn(list(a), list(b)))[inverse]
        return out

    def score(self, todo: np.ndarray, scorer: object, cutoff: float) -> np.ndarray:
        """Similarity (or distance) per pair; beyond `cutoff` the scorer may stop early and
        return 0 (similarity) or cutoff + 1 (distance)."""

        def run(a: list[str], b: list[str]) -> object:
            return process.cpdist(a, b, scorer=scorer, score_cutoff=cutoff, workers=1)

        return self.pairwise(todo, run, np.nan, float)


def codes_of(s: pd.Series | np.ndarray) -> np.ndarray:
    a = np.asarray(s)
    if a.dtype.kind == "f":  # nulls through Arrow
        return np.nan_to_num(a, nan=-1).astype(np.int32)
    return a.astype(np.int32, copy=False)


def numbers_of(s: pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(s, np.ndarray) and s.dtype.kind == "f":
        return s
    if isinstance(s, pd.Series) and s.dtype.kind == "f":
        return s.to_numpy()
    return pd.to_numeric(pd.Series(s), errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def _canon_overlap(a: list[str], b: list[str]) -> list[bool]:
    """The nickname families of two names overlap ('bob' ~ 'robert', 'al' ~ 'alfred')."""
    return [
        x == y or bool(set(x.split(SEP)) & set(y.split(SEP))) for x, y in zip(a, b, strict=True)
    ]


def _token_overlap(a: list[str], b: list[str]) -> list[bool]:
    """Double-barrelled and multi-part names: 'smith jones' ~ 'jones', 'smithjones'."""
    out = []
    for x, y in zip(a, b, strict=True):
        if x.replace(" ", "") == y.replace(" ", ""):
            out.append(True)
            continue
        tx = {t for t in x.split() if len(t) > 1}
        ty = {t for t in y.split() if len(t) > 1}
        out.append(bool(tx & ty))
    return out


def _same_initial(a: list[str], b: list[str]) -> list[bool]:
    """An initial against a name: 'r' ~ 'robert' (middle names are often initials only)."""
    return [x[:1] == y[:1] for x, y in zip(a, b, strict=True)]


def _select(conditions: list[np.ndarray], missing: np.ndarray) -> np.ndarray:
    """Level = index of the first true condition; the last level when none; -1 if missing."""
    levels = np.select(conditions, np.arange(len(conditions)), default=len(conditions))
    return np.where(missing, MISSING, levels).astype(np.int8)


Frame = Mapping[str, "pd.Series | np.ndarray"]  # column -> values; a DataFrame will do


def gamma(comp: Comparison, left: Frame, right: Frame, dicts: Dictionaries) -> np.ndarray:
    c = comp.column
    t = thresholds(comp)
    if comp.kind == "numeric":
        a, b = numbers_of(left[f"{c}__num"]), numbers_of(right[f"{c}__num"])
        missing = np.isnan(a) | np.isnan(b)
        diff = np.abs(a - b)
        return _select([diff == 0, *[diff <= x for x in t]], missing)

    def enc(col: str) -> Encoded:
        return Encoded(left[col], right[col], dicts.of(col))

    col = enc(c)
    missing = col.missing
    exact = col.exact()
    undecided = ~missing & ~exact

    if comp.kind == "exact":
        return _select([exact], missing)

    if comp.kind == "name":
        conds = [exact]
        if comp.swap_with:  # same dictionary, so codes compare across the two columns
            other = enc(comp.swap_with)
            swapped = undecided & ~other.missing & (col.l == other.r) & (other.l == col.r)
            conds.append(swapped)
            undecided &= ~swapped
        canon = enc(f"{c}__canon")
        nick = undecided & canon.exact()
        amb_l, amb_r = canon.flag(dicts.flag(f"{c}__canon", "ambiguous", lambda v: SEP in v))
        todo = undecided & ~nick & ~canon.missing & (amb_l | amb_r)
        nick |= canon.pairwise(todo, _canon_overlap, False, bool)
        undecided &= ~nick
        sp_l, sp_r = col.flag(dicts.flag(c, "spaced", lambda v: " " in v))
        token = col.pairwise(undecided & (sp_l | sp_r), _token_overlap, False, bool)
        undecided &= ~token
        one_l, one_r = col.flag(dicts.flag(c, "initial", lambda v: len(v) == 1))
        initial = col.pairwise(undecided & (one_l | one_r), _same_initial, False, bool)
        undecided &= ~initial
        jw = col.score(undecided, JaroWinkler.normalized_similarity, min(t))
        return _select([*conds, nick, token, initial, *[jw >= x for x in t]], missing)

    if comp.kind == "string":
        jw = col.score(undecided, JaroWinkler.normalized_similarity, min(t))
        return _select([exact, *[jw >= x for x in t]], missing)

    if comp.kind == "identifier":
        dl = col.score(undecided, DamerauLevenshtein.distance, max(t))
        return _select([exact, *[dl <= x for x in t]], missing)

    if comp.kind == "postcode":
        dl = col.score(undecided, DamerauLevenshtein.distance, 1)
        sector = enc(f"{c}__sector").exact()
        district = enc(f"{c}__district").exact()
        return _select([exact, dl <= 1, sector, district], missing)

    if comp.kind == "date":
        ya, yb = numbers_of(left[f"{c}__y"]), numbers_of(right[f"{c}__y"])
        ma, mb = numbers_of(left[f"{c}__m"]), numbers_of(right[f"{c}__m"])
        da, db = numbers_of(left[f"{c}__d"]), numbers_of(right[f"{c}__d"])
        swapped = undecided & (ya == yb) & (ma == db) & (da == mb)
        dl = col.score(undecided & ~swapped, DamerauLevenshtein.distance, 1)
        diff = np.abs(numbers_of(left[f"{c}__days"]) - numbers_of(right[f"{c}__days"]))
        return _select([exact, swapped, dl <= 1, *[diff <= x for x in t]], missing)

    raise AssertionError(comp.kind)


def gamma_column(comp: Comparison) -> str:
    return f"gamma_{comp.name}"


def tf_output_column(comp: Comparison) -> str:
    return f"tf_{comp.name}"


def term_frequency(comp: Comparison, levels: np.ndarray, left: Frame, right: Frame) -> np.ndarray:
    """Frequency of the agreed value where the comparison agrees exactly (level 0), else NaN.
    Equal values have equal frequencies; the larger side is taken as Splink does."""
    tf = np.fmax(numbers_of(left[tf_column(comp)]), numbers_of(right[tf_column(comp)]))
    return np.where(levels == 0, tf, np.nan)


def compare_frame(
    left: Frame, right: Frame, settings: Settings, dicts: Dictionaries
) -> pd.DataFrame:
    """Levels of every comparison for aligned coded `left`/`right` records, plus the term
    frequency of exactly agreeing values for comparisons with that adjustment."""
    out: dict[str, np.ndarray] = {}
    for comp in settings.comparisons:
        g = gamma(comp, left, right, dicts)
        out[gamma_column(comp)] = g
        if comp.tf:
            out[tf_output_column(comp)] = term_frequency(comp, g, left, right)
    return pd.DataFrame(out)


def output_schema(settings: Settings) -> list[tuple[str, str]]:
    schema = []
    for comp in settings.comparisons:
        schema.append((gamma_column(comp), "tinyint"))
        if comp.tf:
            schema.append((tf_output_column(comp), "double"))
    return schema


def compare_batch(pdf: pd.DataFrame, settings: Settings, dicts: Dictionaries) -> pd.DataFrame:
    """For Spark mapInPandas: a batch of pairs whose columns are `<col>_l` and `<col>_r` (plus
    pass-through columns, kept as they are) -> pass-through columns + levels."""
    cols = pair_side_columns(settings)
    left = {c: pdf[f"{c}_l"].to_numpy() for c in cols}
    right = {c: pdf[f"{c}_r"].to_numpy() for c in cols}
    levels = compare_frame(left, right, settings, dicts)
    side = {f"{c}_l" for c in cols} | {f"{c}_r" for c in cols}
    keep = pdf[[c for c in pdf.columns if c not in side]].reset_index(drop=True)
    return pd.concat([keep, levels.reset_index(drop=True)], axis=1)


def compare_indexed(
    records: pd.DataFrame, i: np.ndarray, j: np.ndarray, settings: Settings, dicts: Dictionaries
) -> pd.DataFrame:
    """Levels for the pairs (records[i], records[j]) of coded records (positions)."""
    cols = pair_side_columns(settings)
    left = {c: records[c].to_numpy()[i] for c in cols}
    right = {c: records[c].to_numpy()[j] for c in cols}
    return compare_frame(left, right, settings, dicts)
