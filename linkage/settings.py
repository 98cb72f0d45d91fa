"""The settings-file contract of the linkage engine (design section 5), as a pydantic model.

A settings file says which tables are linked how: the link type, the id and source columns,
the blocking rules (an OR of AND-lists of optionally transformed columns), the comparisons
(each a column and a kind that picks the comparison levels) and the match threshold. The
optional keys below the contract tune the engine; their defaults suit populations from a few
thousand to a few million records.

Every problem is reported with the file, the key and what was expected (leo.config).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from leo.config import StrictModel, load_model

KINDS = ("name", "string", "date", "postcode", "identifier", "exact", "numeric")
LinkType = Literal["link_only", "dedupe_only", "link_and_dedupe"]
Kind = Literal["name", "string", "date", "postcode", "identifier", "exact", "numeric"]

# Transforms a blocking rule may apply to a column, and how many integer arguments each takes.
TRANSFORMS: dict[str, int] = {
    "soundex": 0,  # phonetic code of a name (jellyfish)
    "metaphone": 0,
    "nysiis": 0,
    "canon": 0,  # nickname-canonical form of a name (Bob -> robert)
    "initial": 0,  # first letter
    "substr": 2,  # substr(col, start, length), 1-based like SQL
    "year": 0,  # parts of a date comparison column
    "month": 0,
    "day": 0,
    "area": 0,  # parts of a postcode comparison column
    "district": 0,
    "sector": 0,
}
# Transforms of two columns, written transform(column, other_column).
PAIR_TRANSFORMS = {
    # the two values as an unordered pair: a record with forename and surname the wrong way
    # round has the same key as one with them the right way round, so a name-order swap
    # still meets its match in a block (the "swapped" level of a name comparison scores it)
    "unordered",
}
_TERM = re.compile(
    r"^\s*(?:(?P<fn>[a-z_]+)\(\s*(?P<col>[^,()\s]+)(?P<args>(?:\s*,\s*[^,()\s]+)*)\s*\)"
    r"|(?P<bare>[^,()\s]+))\s*$"
)


class BlockTerm(StrictModel):
    """One part of a blocking rule: a column, optionally transformed."""

    column: str
    transform: str | None = None
    args: tuple[int, ...] = ()
    other: str | None = None  # the second column of a PAIR_TRANSFORMS term

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if self.other is None else (self.column, self.other)

    @property
    def text(self) -> str:
        if self.transform is None:
            return self.column
        inner = ", ".join([*self.columns, *map(str, self.args)])
        return f"{self.transform}({inner})"


def parse_term(text: str) -> BlockTerm:
    """'soundex(surname)' -> BlockTerm('surname', 'soundex'); raises ValueError otherwise."""
    m = _TERM.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a column or transform(column[, n...])")
    if m.group("bare"):
        return BlockTerm(column=m.group("bare"))
    fn = m.group("fn")
    extra = re.findall(r"[^,()\s]+", m.group("args") or "")
    if fn in PAIR_TRANSFORMS:
        if len(extra) != 1 or extra[0].isdigit() or extra[0] == m.group("col"):
            raise ValueError(f"'{fn}' takes two different columns: {fn}(column, other_column)")
        return BlockTerm(column=m.group("col"), transform=fn, other=extra[0])
    if fn not in TRANSFORMS:
        known = ", ".join([*TRANSFORMS, *sorted(PAIR_TRANSFORMS)])
        raise ValueError(f"unknown transform '{fn}' in '{text}'; known: {known}")
    if not all(a.isdigit() for a in extra):
        raise ValueError(f"'{fn}' takes number arguments after the column, got '{text}'")
    args = tuple(int(a) for a in extra)
    if len(args) != TRANSFORMS[fn]:
        raise ValueError(f"'{fn}' takes {TRANSFORMS[fn]} number argument(s), got {len(args)}")
    return BlockTerm(column=m.group("col"), transform=fn, args=args)


class Comparison(StrictModel):
    """One comparison: a column and a kind. Kinds and their levels (most similar first):

    name        exact, swapped (with `swap_with`), nickname, token (double-barrelled, middle
                name), initial (one side is an initial), Jaro-Winkler >= each of
                `thresholds` (default 0.92, 0.8), different
    string      exact, Jaro-Winkler >= each of `thresholds` (default 0.9, 0.7), different
    date        exact, day/month swapped, one character edit, within `thresholds` days
                (default 365), different; `format` is a strptime format (default %Y-%m-%d)
    postcode    exact, one character edit, same sector, same district, different (UK)
    identifier  exact, within `thresholds` edits (default 1), different
    exact       exact, different
    numeric     exact, within each absolute difference in `thresholds`, different

    A missing value on either side is its own level ("missing") and counts as no evidence.
    A date outside `earliest` .. `latest` (dates, or "today" for the run's date) is set
    aside as missing and counted (linkage/inputs.py): placeholders such as 1800-01-01 or
    9999-12-31 would otherwise be strong false evidence.
    """

    column: str
    kind: Kind
    label: str | None = Field(default=None, description="name in outputs; default the column")
    format: str | None = None
    thresholds: list[float] | None = None
    swap_with: str | None = Field(default=None, description="name kind: the other name column")
    term_frequency_adjustments: bool | None = Field(
        default=None, description="default true for names, false otherwise"
    )
    earliest: date | None = Field(default=None, description="date kind: earlier is set aside")
    latest: date | Literal["today"] | None = Field(
        default=None, description="date kind: later is set aside; 'today' = the run's date"
    )

    @property
    def name(self) -> str:
        return self.label or self.column

    @property
    def tf(self) -> bool:
        if self.term_frequency_adjustments is None:
            return self.kind == "name"
        return self.term_frequency_adjustments

    @property
    def date_format(self) -> str:
        return self.format or "%Y-%m-%d"

    def date_range(self) -> tuple[date | None, date | None]:
        """(earliest, latest) with "today" resolved to today's date (UTC)."""
        latest = datetime.now(UTC).date() if self.latest == "today" else self.latest
        return self.earliest, latest

    @model_validator(mode="after")
    def _kind_options(self) -> Comparison:
        if self.format is not None and self.kind != "date":
            raise ValueError(f"'format' applies to kind date only (this is kind {self.kind})")
        if self.format is not None and "%Y" not in self.format:
            raise ValueError(f"date format {self.format!r} must contain %Y, %m and %d")
        if (self.earliest is not None or self.latest is not None) and self.kind != "date":
            raise ValueError(f"'earliest' and 'latest' apply to kind date only ({self.kind})")
        lo, hi = self.date_range()
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"'earliest' {lo} is after 'latest' {hi}")
        if self.swap_with is not None and self.kind != "name":
            raise ValueError(f"'swap_with' applies to kind name only (this is kind {self.kind})")
        if self.thresholds is not None:
            if self.kind in ("postcode", "exact"):
                raise ValueError(f"kind {self.kind} takes no 'thresholds'")
            if not self.thresholds:
                raise ValueError("'thresholds' must list at least one value")
            if self.kind in ("name", "string"):
                if any(not 0 < t <= 1 for t in self.thresholds):
                    raise ValueError("similarity thresholds must be in (0, 1]")
                if sorted(self.thresholds, reverse=True) != self.thresholds:
                    raise ValueError("similarity thresholds must be in descending order")
            elif any(t < 0 for t in self.thresholds) or sorted(self.thresholds) != self.thresholds:
                raise ValueError("distance thresholds must be >= 0 and in ascending order")
        return self


class Threshold(StrictModel):
    match_probability: float = Field(gt=0, lt=1)


class Settings(StrictModel):
    # --- the contract (design section 5) ---
    link_type: LinkType
    unique_id_column: str
    source_column: str | None = None
    blocking_rules: list[list[str]] = Field(min_length=1)
    comparisons: list[Comparison] = Field(min_length=1)
    threshold: Threshold
    # --- optional engine settings ---
    one_record_per_person: list[str] = Field(
        default_factory=list,
        description="sources holding at most one record per person: clustering never puts two "
        "of their records in one cluster (the guard against chaining distinct people)",
    )
    duplicate_min_probability: float = Field(
        default=0.999999,
        gt=0,
        le=1,
        description="two records of a one_record_per_person source share a cluster only when "
        "linked to each other directly with at least this probability (a duplicate)",
    )
    max_block_size: int = Field(
        default=5000,
        gt=1,
        description="a blocking key shared by more records is skipped for that rule (reported): "
        "its pairs must come from another rule",
    )
    salt_block_size: int = Field(
        default=500,
        gt=1,
        description="blocks larger than this are split across tasks so none straggles",
    )
    cluster_driver_max_links: int = Field(
        default=50_000_000,
        ge=0,
        description="up to this many links, connected components are solved on the driver "
        "(about 26 bytes a link); above it, in Spark",
    )
    u_sample_pairs: int = Field(default=1_000_000, ge=1000, description="random pairs for u")
    u_sample_records: int = Field(
        default=100_000, ge=100, description="records they are drawn from"
    )
    em_max_iterations: int = Field(default=100, ge=1)
    em_tolerance: float = Field(default=1e-6, gt=0)
    probability_two_random_records_match: float | None = Field(
        default=None, gt=0, lt=1, description="fix the prior instead of estimating it"
    )
    pairs_min_probability: float = Field(
        default=0.01,
        ge=0,
        lt=1,
        description="pairs at or above this probability are written (the threshold decides links)",
    )
    max_value_length: int = Field(
        default=500,
        ge=1,
        description="a compared value longer than this many characters is not an identifier "
        "(a shifted column, free text): it is set aside as missing and counted",
    )
    seed: int = 42

    @field_validator("blocking_rules")
    @classmethod
    def _rules_parse(cls, rules: list[list[str]]) -> list[list[str]]:
        for i, rule in enumerate(rules):
            if not rule:
                raise ValueError(f"rule [{i}] is empty; list at least one column")
            for term in rule:
                try:
                    parse_term(term)
                except ValueError as exc:
                    raise ValueError(f"rule [{i}]: {exc}") from None
        if len(rules) > 30:
            raise ValueError("at most 30 blocking rules")
        return rules

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.link_type != "dedupe_only" and not self.source_column:
            raise ValueError(f"'source_column' is required when link_type is {self.link_type}")
        names = [c.name for c in self.comparisons]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"comparisons: labels must be unique, repeated: {', '.join(dupes)}")
        by_column = {c.column: c for c in self.comparisons}
        for i, rule in enumerate(self.parsed_rules):
            for term in rule:
                kind = by_column[term.column].kind if term.column in by_column else None
                need = {
                    "year": "date",
                    "month": "date",
                    "day": "date",
                    "area": "postcode",
                    "district": "postcode",
                    "sector": "postcode",
                }.get(term.transform or "")
                if need and kind != need:
                    raise ValueError(
                        f"blocking_rules[{i}]: {term.text} needs a comparison of kind {need} on "
                        f"column '{term.column}'"
                    )
        for c in self.comparisons:
            if c.swap_with and c.swap_with not in by_column:
                raise ValueError(
                    f"comparison '{c.name}': swap_with '{c.swap_with}' must itself be compared"
                )
        return self

    @property
    def parsed_rules(self) -> list[list[BlockTerm]]:
        return [[parse_term(t) for t in rule] for rule in self.blocking_rules]

    def rule_text(self, i: int) -> str:
        return " & ".join(self.blocking_rules[i])

    def input_columns(self) -> list[str]:
        """Columns the inputs must hold (besides the id and source columns)."""
        cols: list[str] = []
        for c in self.comparisons:
            cols.append(c.column)
        for rule in self.parsed_rules:
            for t in rule:
                cols.extend(t.columns)
        return list(dict.fromkeys(cols))

    def rule_columns(self, i: int) -> set[str]:
        return {c for t in self.parsed_rules[i] for c in t.columns}


def load_settings(path: str | Path) -> Settings:
    return load_model(Settings, path)
