"""Checks on input tables before linkage (issue item 6). Whole-table and whole-column problems
stop the run with an error naming the table, the column and the row count; a record that
cannot be linked at all (no unique id, or every compared identifier empty) is quarantined
with a reason and counted. Nothing is dropped silently.

Single values that cannot be identifiers are dealt with before those checks, and counted per
column and rule (`InputReport.values`); the record itself is kept and linked on the rest:
- text that is not valid UTF-8 (Parquet string columns can hold any bytes): the invalid
  bytes are replaced by U+FFFD, so "Zo\\xebe" still resembles "Zoe" (a unique id that is not
  valid UTF-8 cannot be repaired without risking a clash: its record is quarantined);
- a value longer than `max_value_length` characters (a shifted column, free text): set
  aside as missing;
- a date outside its comparison's `earliest` .. `latest` (1800-01-01, 9999-12-31 and the
  like are placeholders, and would be strong false evidence): set aside as missing.
A record whose identifiers are all empty once these are set aside is quarantined.

Works on Spark DataFrames (`check_spark`, one aggregation pass) and pandas (`check_pandas`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from leo.errors import InputError
from linkage.settings import Comparison, Settings
from linkage.standardise import date_regex, parse_dates

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

NO_ID = "no unique id"
BAD_ID = "unique id not valid UTF-8"
NO_IDENTIFIERS = "every identifier empty"
REPLACED_UTF8 = "not valid UTF-8: invalid bytes replaced"
TEXT_LIKE = (
    "string",
    "int",
    "bigint",
    "smallint",
    "tinyint",
    "double",
    "float",
    "decimal",
    "date",
    "timestamp",
)


def too_long(limit: int) -> str:
    return f"over {limit:,} characters: set aside"


def too_early(lo: date) -> str:
    return f"before {lo}: set aside"


def too_late(hi: date) -> str:
    return f"after {hi}: set aside"


@dataclass
class InputReport:
    table: str
    rows: int
    quarantined: dict[str, int] = field(default_factory=dict)
    # column -> rule (what was done) -> values it applied to
    values: dict[str, dict[str, int]] = field(default_factory=dict)

    def count_value(self, column: str, rule: str, n: int) -> None:
        if n:
            self.values.setdefault(column, {})[rule] = n


def required(
    settings: Settings, uid: str | None = None, columns: list[str] | None = None
) -> list[str]:
    return [
        uid or settings.unique_id_column,
        *(settings.input_columns() if columns is None else columns),
    ]


def missing_columns(table: str, have: list[str], need: list[str]) -> None:
    missing = [c for c in need if c not in have]
    if missing:
        raise InputError(
            f"input {table}: missing column(s) {', '.join(missing)} required by the settings "
            f"(it has: {', '.join(have) or 'none'})"
        )


def _fail_on_counts(
    table: str, rows: int, nulls: dict[str, int], dup_ids: int, uid: str, report: InputReport
) -> None:
    if rows == 0:
        raise InputError(f"input {table}: no rows")
    for col in nulls:
        if nulls[col] == rows:
            aside = sum(report.values.get(col, {}).values())
            if aside:
                raise InputError(
                    f"input {table}: column '{col}' has no usable value in any of its "
                    f"{rows:,} rows ({aside:,} set aside: {', '.join(report.values[col])})"
                )
            raise InputError(f"input {table}: column '{col}' is empty in all {rows:,} rows")
    if dup_ids:
        raise InputError(
            f"input {table}: column '{uid}' has {dup_ids:,} value(s) held "
            "by more than one row; unique ids must be unique"
        )


def _date_comparisons(settings: Settings, columns: list[str]) -> list[Comparison]:
    return [
        c
        for c in settings.comparisons
        if c.kind == "date" and c.column in columns and c.date_range() != (None, None)
    ]


def _date_norm_spark(col: Column, fmt: str) -> tuple[Column, Column]:
    """(reads as a date in the format, its YYYYMMDD text): for range checks, as text."""
    from pyspark.sql import functions as F

    java = date_regex(fmt).pattern.replace("(?P<", "(?<")
    order = re.findall(r"%([Ymd])", fmt)
    text = F.trim(col)
    part = {code: F.regexp_extract(text, java, i + 1) for i, code in enumerate(order)}
    norm = F.concat(F.lpad(part["Y"], 4, "0"), F.lpad(part["m"], 2, "0"), F.lpad(part["d"], 2, "0"))
    return text.rlike(java), norm


def _blank(col: Column) -> Column:
    from pyspark.sql import functions as F

    return col.isNull() | (F.trim(col.cast("string")) == "")


def check_spark(
    table: str,
    df: DataFrame,
    settings: Settings,
    uid: str | None = None,
    columns: list[str] | None = None,
) -> tuple[DataFrame, InputReport]:
    """Validate one input and cast its compared columns to text. Returns the records with a
    `__reason` column (null, or why the record is quarantined) and the counts. `uid` and
    `columns` default to the settings' unique id column and input columns."""
    from pyspark.sql import functions as F

    need = required(settings, uid, columns)
    missing_columns(table, df.columns, need)
    types = dict(df.dtypes)
    for col in need:
        t = types[col]
        if not t.startswith(TEXT_LIKE):
            raise InputError(f"input {table}: column '{col}' has type {t}; expected text")
    date_formats = {c.column: c.date_format for c in settings.comparisons if c.kind == "date"}
    for col in need:
        if types[col] == "date" and col in date_formats:
            java = date_formats[col].replace("%Y", "yyyy").replace("%m", "MM").replace("%d", "dd")
            df = df.withColumn(col, F.date_format(F.col(col), java))
        elif types[col] != "string":
            df = df.withColumn(col, F.col(col).cast("string"))
    uid, idents = need[0], need[1:]

    # value rules: each adds a flag column (on the value before the rule), then applies it
    rules: list[tuple[str, str, str]] = []  # (flag column, column, rule)

    def rule(col: str, name: str, hit: Column, value: Column | None) -> None:
        nonlocal df
        flag = f"__v{len(rules)}"
        rules.append((flag, col, name))
        df = df.withColumn(flag, F.coalesce(hit, F.lit(False)))
        if value is not None:
            df = df.withColumn(col, F.when(F.col(flag), value).otherwise(F.col(col)))

    for c in idents:
        rule(c, REPLACED_UTF8, ~F.is_valid_utf8(F.col(c)), F.make_valid_utf8(F.col(c)))
    limit = settings.max_value_length
    for c in idents:
        rule(c, too_long(limit), F.char_length(F.col(c)) > limit, F.lit(None).cast("string"))
    for comp in _date_comparisons(settings, idents):
        c = comp.column
        lo, hi = comp.date_range()
        matched, norm = _date_norm_spark(F.col(c), comp.date_format)
        if lo is not None:
            rule(c, too_early(lo), matched & (norm < lo.strftime("%Y%m%d")), F.lit(None))
        if hi is not None:
            rule(c, too_late(hi), matched & (norm > hi.strftime("%Y%m%d")), F.lit(None))
    bad_id = F.coalesce(~F.is_valid_utf8(F.col(uid)), F.lit(False))

    all_blank = F.lit(True)
    for c in idents:
        all_blank = all_blank & _blank(F.col(c))
    reason = (
        F.when(_blank(F.col(uid)), F.lit(NO_ID))
        .when(bad_id, F.lit(BAD_ID))
        .when(all_blank, F.lit(NO_IDENTIFIERS))
    )
    df = df.withColumn("__reason", reason)
    aggs = [F.count("*").alias("__rows")]
    aggs += [F.sum(_blank(F.col(c)).cast("long")).alias(f"null_{i}") for i, c in enumerate(idents)]
    quarantine = {name: f"q{i}" for i, name in enumerate((NO_ID, BAD_ID, NO_IDENTIFIERS))}
    aggs += [
        F.sum((F.col("__reason") == name).cast("long")).alias(key)
        for name, key in quarantine.items()
    ]
    aggs += [F.sum(F.col(flag).cast("long")).alias(flag) for flag, _, _ in rules]
    row = df.agg(*aggs).collect()[0]
    df = df.drop(*[flag for flag, _, _ in rules])
    rows = int(row["__rows"])
    nulls = {c: int(row[f"null_{i}"] or 0) for i, c in enumerate(idents)}
    report = InputReport(table, rows)
    for flag, col, name in rules:
        report.count_value(col, name, int(row[flag] or 0))
    dups = (
        df.where(F.col("__reason").isNull()).groupBy(uid).count().where(F.col("count") > 1).count()
        if rows
        else 0
    )
    _fail_on_counts(table, rows, nulls, dups, uid, report)
    for name, key in quarantine.items():
        if row[key]:
            report.quarantined[name] = int(row[key])
    return df, report


def check_pandas(
    table: str, df: pd.DataFrame, settings: Settings
) -> tuple[pd.DataFrame, InputReport]:
    """The same checks on pandas (whose strings are always valid text: a file holding invalid
    UTF-8 fails to read, naming the file, in linkage/io.py)."""
    missing_columns(table, list(df.columns), required(settings))
    df = df.copy()
    for col in required(settings):
        s = df[col]
        if s.dtype.kind in "biufcM" or pd.api.types.is_string_dtype(s) or s.dtype == object:
            df[col] = s.astype("string")
        else:
            raise InputError(f"input {table}: column '{col}' has type {s.dtype}; expected text")
    idents = settings.input_columns()
    report = InputReport(table, len(df))
    limit = settings.max_value_length
    for c in idents:
        hit = (df[c].str.len() > limit).fillna(False).astype(bool)
        report.count_value(c, too_long(limit), int(hit.sum()))
        df.loc[hit, c] = pd.NA
    for comp in _date_comparisons(settings, idents):
        p = parse_dates(df[comp.column], comp.date_format)
        norm = (
            p["y"].astype("string").str.zfill(4)
            + p["m"].astype("string").str.zfill(2)
            + p["d"].astype("string").str.zfill(2)
        )
        lo, hi = comp.date_range()
        hits = {}
        if lo is not None:
            hits[too_early(lo)] = norm < lo.strftime("%Y%m%d")
        if hi is not None:
            hits[too_late(hi)] = norm > hi.strftime("%Y%m%d")
        for name, hit in hits.items():
            hit = hit.fillna(False).astype(bool)
            report.count_value(comp.column, name, int(hit.sum()))
            df.loc[hit, comp.column] = pd.NA
    blank = {c: df[c].isna() | (df[c].str.strip() == "") for c in required(settings)}
    rows = len(df)
    nulls = {c: int(blank[c].sum()) for c in idents}
    all_blank = pd.concat([blank[c] for c in idents], axis=1).all(axis=1)
    no_id = blank[settings.unique_id_column]
    reason = pd.Series(None, index=df.index, dtype=object)
    reason[all_blank] = NO_IDENTIFIERS
    reason[no_id] = NO_ID
    df["__reason"] = reason
    ids = df.loc[reason.isna(), settings.unique_id_column]
    dups = int((ids.value_counts() > 1).sum())
    _fail_on_counts(table, rows, nulls, dups, settings.unique_id_column, report)
    for name in (NO_ID, NO_IDENTIFIERS):
        n = int((reason == name).sum())
        if n:
            report.quarantined[name] = n
    return df, report
