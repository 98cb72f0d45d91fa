"""Standardise identifiers before blocking and comparison (design section 5, step 1).

Each function takes a pandas Series of raw text and returns cleaned values (and, for dates
and postcodes, their parts). Work is done once per distinct value, so a column of a million
names with a few thousand distinct values costs a few thousand calls.

A value that is present but cannot be read as its kind (an impossible date such as
2001-02-31, a malformed postcode, text in a numeric column) never removes its record: the
derived parts are left missing, the value is still compared by its characters where the kind
allows, and `standardise_frame` flags it so the job can count and report such values.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from linkage.settings import Comparison, Settings

SEP = "|"  # joins the canonical families of an ambiguous diminutive
_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "jr", "snr", "sr", "jnr"}
)
_POSTCODE = re.compile(r"^([A-Z]{1,2})([0-9][A-Z0-9]?)([0-9])([A-Z]{2})$")


def map_unique(values: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """Apply `fn` to each distinct non-null value once; missing stays missing."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0:
        return pd.Series([None] * len(values), index=values.index, dtype=object)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _ascii_words(text: str, keep_digits: bool) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("'", "").replace("`", "")  # O'Brien -> obrien
    pattern = r"[^a-z0-9]+" if keep_digits else r"[^a-z]+"
    return re.sub(pattern, " ", text).strip()


def clean_name_value(text: str) -> str | None:
    """'  Smith-Jones ' -> 'smith jones'; 'SMITH, John' -> 'john smith'; 'José' -> 'jose'.
    Hyphens split double-barrelled names into tokens (compared token by token later)."""
    if "," in text:  # "surname, forenames" order
        head, _, tail = text.partition(",")
        text = f"{tail} {head}"
    words = _ascii_words(text, keep_digits=False).split()
    if len(words) > 1:
        words = [w for w in words if w not in _TITLES] or words
    return " ".join(words) or None


def clean_name(values: pd.Series) -> pd.Series:
    return map_unique(values.astype("string"), clean_name_value)


def clean_string(values: pd.Series) -> pd.Series:
    return map_unique(values.astype("string"), lambda v: _ascii_words(v, True) or None)


def clean_identifier(values: pd.Series) -> pd.Series:
    """Upper-case letters and digits only: ' ab 12 34 56 c' -> 'AB123456C'."""
    return map_unique(
        values.astype("string"), lambda v: re.sub(r"[^A-Z0-9]", "", v.upper()) or None
    )


def clean_exact(values: pd.Series) -> pd.Series:
    return map_unique(values.astype("string"), lambda v: v.strip().casefold() or None)


@cache
def nickname_families() -> dict[str, frozenset[str]]:
    """name -> the canonical names it may stand for (package data linkage/data/nicknames.csv).
    A canonical name stands for itself."""
    families: dict[str, set[str]] = {}
    text = resources.files("linkage").joinpath("data/nicknames.csv").read_text(encoding="utf-8")
    for row in csv.reader(line for line in text.splitlines() if line and not line.startswith("#")):
        names = [n.strip().lower() for n in row if n.strip()]
        canonical = names[0]
        for n in names:
            families.setdefault(n, set()).add(canonical)
    return {k: frozenset(v) for k, v in families.items()}


def canonical_value(clean: str) -> str:
    """'bob' -> 'robert'; 'al' -> 'alan|albert|alexander|alfred'; 'zebedee' -> 'zebedee'.
    Uses the first token, so 'bob james' -> 'robert'."""
    first = clean.split(" ", 1)[0]
    return SEP.join(sorted(nickname_families().get(first, (first,))))


def canonical_name(clean: pd.Series) -> pd.Series:
    return map_unique(clean, canonical_value)


def date_regex(fmt: str) -> re.Pattern[str]:
    out, i = [], 0
    packed = not any(
        ch in fmt.replace("%Y", "").replace("%m", "").replace("%d", "") for ch in "/-. "
    )
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            code = fmt[i + 1]
            width = {"Y": "4", "m": "2" if packed else "1,2", "d": "2" if packed else "1,2"}.get(
                code
            )
            if width is None:
                raise ValueError(f"date format {fmt!r}: only %Y, %m and %d are supported")
            out.append(f"(?P<{code}>\\d{{{width}}})")
            i += 2
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")


def parse_dates(values: pd.Series, fmt: str) -> pd.DataFrame:
    """Columns: norm (YYYYMMDD digits, or the raw characters when the format does not match),
    y, m, d (parts, kept even when the date is impossible), days (since 1970-01-01, only for
    real dates) and bad (present but not a real date in this format). Each distinct value is
    parsed once (dates of birth repeat: a few thousand values in a million records)."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    parsed = _parse_distinct_dates(pd.Series([*uniques, pd.NA], dtype="string"), fmt)
    out = parsed.take(np.where(codes < 0, len(uniques), codes))
    out.index = values.index
    return out


def _parse_distinct_dates(values: pd.Series, fmt: str) -> pd.DataFrame:
    raw = values.str.strip()
    raw = raw.mask(raw == "")
    parts = raw.str.extract(date_regex(fmt))
    y = pd.to_numeric(parts["Y"], errors="coerce").astype("Int32")
    m = pd.to_numeric(parts["m"], errors="coerce").astype("Int32")
    d = pd.to_numeric(parts["d"], errors="coerce").astype("Int32")
    matched = y.notna() & m.notna() & d.notna()
    when = pd.to_datetime(
        pd.DataFrame(
            {
                "year": y.where(matched, 2000),
                "month": m.where(matched, 1),
                "day": d.where(matched, 1),
            }
        ).astype("float64"),
        errors="coerce",
    ).where(matched)
    days = ((when - pd.Timestamp("1970-01-01")).dt.days).astype("Int32")
    norm = (
        y.astype("string").str.zfill(4)
        + m.astype("string").str.zfill(2)
        + d.astype("string").str.zfill(2)
    )
    by_chars = raw.str.replace(r"[^0-9A-Za-z]", "", regex=True)
    norm = norm.where(matched, by_chars)
    norm = norm.mask(norm == "")
    bad = raw.notna() & days.isna()
    return pd.DataFrame({"norm": norm, "y": y, "m": m, "d": d, "days": days, "bad": bad})


def parse_postcodes(values: pd.Series) -> pd.DataFrame:
    """UK postcodes: clean (letters and digits, upper case), area ('SW'), district ('SW1A'),
    sector ('SW1A1'); bad when present but not a postcode (parts missing, compared by chars)."""
    clean = map_unique(
        values.astype("string"), lambda v: re.sub(r"[^A-Z0-9]", "", v.upper()) or None
    )
    parts = clean.astype("string").str.extract(_POSTCODE)
    area = parts[0]
    district = parts[0] + parts[1]
    sector = district + parts[2]
    return pd.DataFrame(
        {
            "clean": clean,
            "area": area.astype(object).where(area.notna(), None),
            "district": district.astype(object).where(district.notna(), None),
            "sector": sector.astype(object).where(sector.notna(), None),
            "bad": clean.notna() & parts[0].isna(),
        }
    )


def parse_numeric(values: pd.Series) -> pd.DataFrame:
    raw = values.astype("string").str.strip()
    raw = raw.mask(raw == "")
    num = pd.to_numeric(raw, errors="coerce")
    return pd.DataFrame({"num": num.astype("float64"), "bad": raw.notna() & num.isna()})


# --- the standardised record layout ------------------------------------------------------


def derived_columns(comparison: Comparison) -> dict[str, str]:
    """Columns a comparison adds to each record, with their types (spark DDL type names)."""
    c = comparison.column
    cols = {c: "string"}
    if comparison.kind == "name":
        cols[f"{c}__canon"] = "string"
    elif comparison.kind == "date":
        cols.update({f"{c}__y": "int", f"{c}__m": "int", f"{c}__d": "int", f"{c}__days": "int"})
    elif comparison.kind == "postcode":
        cols.update({f"{c}__area": "string", f"{c}__district": "string", f"{c}__sector": "string"})
    elif comparison.kind == "numeric":
        cols[f"{c}__num"] = "double"
    return cols


def bad_flag(column: str) -> str:
    return f"__bad__{column}"


def flagged_kinds() -> tuple[str, ...]:
    """Kinds whose unreadable values are counted."""
    return ("date", "postcode", "numeric")


def standardised_columns(settings: Settings) -> dict[str, str]:
    """Every column `standardise_frame` writes, in order, with its type."""
    cols: dict[str, str] = {}
    compared = {c.column for c in settings.comparisons}
    for comp in settings.comparisons:
        cols.update(derived_columns(comp))
    for col in settings.input_columns():
        if col not in compared:
            cols[col] = "string"  # used by blocking only
    for comp in settings.comparisons:
        if comp.kind in flagged_kinds():
            cols[bad_flag(comp.column)] = "int"
    return cols


def standardise_column(comp: Comparison, values: pd.Series) -> dict[str, pd.Series]:
    """The standardised columns of one compared column, computed once per distinct value
    (dates, postcodes and identifiers repeat across a source's profiles) and spread back."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    distinct = pd.Series([*uniques, None], dtype="string")  # the last row stands for missing
    out = _standardise_distinct(comp, distinct)
    return {k: v.iloc[codes].set_axis(values.index) for k, v in out.items()}


def _standardise_distinct(comp: Comparison, values: pd.Series) -> dict[str, pd.Series]:
    c = comp.column
    if comp.kind == "name":
        clean = clean_name(values)
        return {c: clean, f"{c}__canon": canonical_name(clean)}
    if comp.kind == "string":
        return {c: clean_string(values)}
    if comp.kind == "identifier":
        return {c: clean_identifier(values)}
    if comp.kind == "exact":
        return {c: clean_exact(values)}
    if comp.kind == "date":
        p = parse_dates(values, comp.date_format)
        return {
            c: p["norm"],
            f"{c}__y": p["y"],
            f"{c}__m": p["m"],
            f"{c}__d": p["d"],
            f"{c}__days": p["days"],
            bad_flag(c): p["bad"].astype("int32"),
        }
    if comp.kind == "postcode":
        p = parse_postcodes(values)
        return {
            c: p["clean"],
            f"{c}__area": p["area"],
            f"{c}__district": p["district"],
            f"{c}__sector": p["sector"],
            bad_flag(c): p["bad"].astype("int32"),
        }
    if comp.kind == "numeric":
        p = parse_numeric(values)
        return {
            c: clean_string(values),
            f"{c}__num": p["num"],
            bad_flag(c): p["bad"].astype("int32"),
        }
    raise AssertionError(comp.kind)


def standardise_frame(df: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The raw input columns of `df` replaced by the standardised layout
    (`standardised_columns`); other columns (ids, source) pass through unchanged."""
    out = {}
    compared = {c.column for c in settings.comparisons}
    for comp in settings.comparisons:
        out.update(standardise_column(comp, df[comp.column]))
    for col in settings.input_columns():
        if col not in compared:
            out[col] = clean_string(df[col])
    layout = standardised_columns(settings)
    keep = [c for c in df.columns if c not in layout and c not in settings.input_columns()]
    result = df[keep].copy()
    for name, typ in layout.items():
        s = out[name]
        if typ == "string":
            s = s.astype(object).where(pd.notna(s), None)
        elif typ == "int":
            s = s.astype("Int32")
        result[name] = s.to_numpy() if typ != "int" else s.array
    return result
