"""The contracts between the zones, in one place: source extracts (identity zone), ground
truth, the cohort outcome table (research zone) and release cells (output zone).

Other modules import these definitions rather than restating column lists, and
`leo data-dictionary` renders docs/data-dictionary.md from them, so code and documentation
cannot drift. Design section 4 is the origin of the source contract.

Conventions:
- Years are integers naming the year an academic or tax year *starts*: academic_year 2014 is
  2014/15 (September to August); tax_year 2021 is 2021-22 (6 April 2021 to 5 April 2022).
  Labels for people ("2014/15", "2021-22") come from `academic_year_label`/`tax_year_label`.
- Dates of birth are text "YYYY-MM-DD" in the identity zone, as real extracts deliver them:
  a typed date column could not carry the impossible dates (31 February) that real data has.
  Event dates (spell start and end) are Parquet dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

IDENTIFIER = "identifier"  # direct identifier: never leaves the identity zone
CONTENT = "content"  # attribute or event: may reach the research zone, pseudonymised
RECORD_ID = "record_id"  # the source's own record key: pseudonymised before the research zone
# compared in linkage but not a direct identifier: may reach the research zone as it is
LINKAGE_ATTRIBUTE = "linkage_attribute"


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    role: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    description: str
    columns: tuple[Column, ...]
    record_id: str | None = None

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def by_role(self, role: str) -> list[str]:
        return [c.name for c in self.columns if c.role == role]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table '{self.name}' has no column '{name}'")


def _id(name: str, what: str) -> Column:
    return Column(name, pa.string(), RECORD_ID, f"{what}; unique per row", nullable=False)


_PERSON_IDENTIFIERS = (
    Column("forename", pa.string(), IDENTIFIER, "first given name as recorded"),
    Column("middle_names", pa.string(), IDENTIFIER, "other given names, space separated"),
    Column("surname", pa.string(), IDENTIFIER, "family name as recorded (may be double-barrelled)"),
    Column("sex", pa.string(), LINKAGE_ATTRIBUTE, "F or M as recorded; null when not recorded"),
    Column(
        "date_of_birth",
        pa.string(),
        IDENTIFIER,
        "YYYY-MM-DD as recorded; may be mistyped or impossible (e.g. 2001-02-31)",
    ),
    Column("postcode", pa.string(), IDENTIFIER, "UK postcode of the address held by the source"),
)
_NINO = Column(
    "nino", pa.string(), IDENTIFIER, "National Insurance number; may be missing or mistyped"
)

SOURCES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "ks4",
            "pupil x academic year",
            "National Pupil Database: end of Key Stage 4 (age 16) results",
            (
                _id("pupil_ref", "pupil record reference"),
                *_PERSON_IDENTIFIERS,
                Column("academic_year", pa.int16(), CONTENT, "academic year of KS4 (start year)"),
                Column("la_code", pa.string(), CONTENT, "local authority code of the school"),
                Column("school_urn", pa.string(), CONTENT, "unique reference number of the school"),
                Column("fsm_eligible", pa.bool_(), CONTENT, "eligible for free school meals (FSM)"),
                Column(
                    "sen_provision",
                    pa.string(),
                    CONTENT,
                    "special educational needs: none, sen_support or ehcp",
                ),
                Column(
                    "ethnicity_major",
                    pa.string(),
                    CONTENT,
                    "major ethnic group: white, mixed, asian, black, other, unclassified",
                ),
                Column("attainment8", pa.float64(), CONTENT, "Attainment 8 score, 0 to 90"),
                Column(
                    "eng_maths_grade4",
                    pa.bool_(),
                    CONTENT,
                    "grade 4 or above in English and maths GCSEs",
                ),
            ),
            record_id="pupil_ref",
        ),
        Table(
            "ks5",
            "learner x academic year",
            "National Pupil Database: 16-18 (Key Stage 5) results",
            (
                _id("learner_ref", "learner record reference"),
                *_PERSON_IDENTIFIERS,
                Column("academic_year", pa.int16(), CONTENT, "academic year of KS5 (start year)"),
                Column(
                    "qualification_level",
                    pa.string(),
                    CONTENT,
                    "highest qualification level taken: level3 or level2",
                ),
                Column("a_level_points", pa.float64(), CONTENT, "A level points per entry"),
            ),
            record_id="learner_ref",
        ),
        Table(
            "he",
            "student x course",
            "Higher education student records (HESA-like)",
            (
                _id("husid", "HESA unique student identifier, per course"),
                *_PERSON_IDENTIFIERS,
                Column("provider_id", pa.string(), CONTENT, "higher education provider (UKPRN)"),
                Column("subject_cah2", pa.string(), CONTENT, "subject, CAH level 2 code"),
                Column(
                    "qualification",
                    pa.string(),
                    CONTENT,
                    "qualification aim: first_degree, other_undergraduate or postgraduate",
                ),
                Column("start_year", pa.int16(), CONTENT, "academic year the course started"),
                Column(
                    "graduation_year",
                    pa.int16(),
                    CONTENT,
                    "academic year of qualifying; null if the student did not qualify",
                ),
                Column(
                    "classification",
                    pa.string(),
                    CONTENT,
                    "degree class: first, upper_second, lower_second, third, pass, or null",
                ),
            ),
            record_id="husid",
        ),
        Table(
            "employments",
            "employment x tax year",
            "PAYE employment records (HMRC-like): one row per employment per tax year",
            (
                _id("employment_id", "employment record id"),
                _NINO,
                *_PERSON_IDENTIFIERS,
                Column("employer_ref", pa.string(), CONTENT, "PAYE employer reference"),
                Column("tax_year", pa.int16(), CONTENT, "tax year (start year)"),
                Column(
                    "start_date",
                    pa.date32(),
                    CONTENT,
                    "employment start date (may precede the tax year)",
                ),
                Column(
                    "end_date",
                    pa.date32(),
                    CONTENT,
                    "employment end date; null while the employment continues",
                ),
                Column("pay", pa.float64(), CONTENT, "taxable pay in the tax year, GBP"),
            ),
            record_id="employment_id",
        ),
        Table(
            "benefits",
            "benefit spell",
            "Benefit spells (DWP-like)",
            (
                _id("spell_id", "benefit spell id"),
                _NINO,
                *_PERSON_IDENTIFIERS,
                Column(
                    "benefit_type", pa.string(), CONTENT, "JSA, ESA, IS, UC, PIP, DLA, CA or HB"
                ),
                Column(
                    "out_of_work",
                    pa.bool_(),
                    CONTENT,
                    "an out-of-work benefit (JSA, ESA, IS, UC searching for work)",
                ),
                Column("start_date", pa.date32(), CONTENT, "spell start date"),
                Column("end_date", pa.date32(), CONTENT, "spell end date; null while open"),
            ),
            record_id="spell_id",
        ),
    )
}

TRUTH: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "records",
            "source record",
            "Which true person each source record belongs to (synthetic data only)",
            (
                Column("source", pa.string(), CONTENT, "source name", nullable=False),
                Column("record_id", pa.string(), RECORD_ID, "the source's record id", False),
                Column("person_id", pa.int64(), CONTENT, "true person id", nullable=False),
            ),
        ),
        Table(
            "persons",
            "person",
            "True attributes of each synthetic person, for bias and outcome checks",
            (
                Column("person_id", pa.int64(), CONTENT, "true person id", nullable=False),
                Column("sex", pa.string(), CONTENT, "F or M"),
                Column("ethnicity_major", pa.string(), CONTENT, "major ethnic group"),
                Column("fsm_eligible", pa.bool_(), CONTENT, "FSM eligible at KS4"),
                Column("region", pa.string(), CONTENT, "region code at KS4"),
                Column("ks4_academic_year", pa.int16(), CONTENT, "KS4 academic year"),
                Column(
                    "emigrated_tax_year",
                    pa.int16(),
                    CONTENT,
                    "tax year from which the person lives abroad; null if never",
                ),
            ),
        ),
    )
}

# Identity zone: what a linkage run hands to the build (work/<run>/record_person/ and
# work/<run>/persons/). `leo build` reads these and the sources' content columns; a map with
# the same shape made from truth/records lets the build run on true person ids for evaluation.
RECORD_PERSON = Table(
    "record_person",
    "source record",
    "Which person each source record was linked to, or why it was quarantined",
    (
        Column("source", pa.string(), CONTENT, "source name", nullable=False),
        Column("record_id", pa.string(), RECORD_ID, "the source's record id", nullable=False),
        Column(
            "person_pid",
            pa.string(),
            CONTENT,
            "stable person pseudonym (HMAC); null when quarantined",
        ),
        Column(
            "status",
            pa.string(),
            CONTENT,
            "linked (person has records from 2+ sources or 2+ profiles), unlinked, quarantined",
            nullable=False,
        ),
        Column("reason", pa.string(), CONTENT, "why the record was quarantined; else null"),
    ),
)

LINKED_PERSONS = Table(
    "persons",
    "person",
    "One row per person (cluster) of a linkage run",
    (
        Column("person_pid", pa.string(), CONTENT, "stable person pseudonym", nullable=False),
        Column("sources", pa.string(), CONTENT, "sources linked, sorted, comma separated", False),
        Column("n_records", pa.int64(), CONTENT, "source records in the cluster", False),
        Column(
            "min_match_probability",
            pa.float64(),
            CONTENT,
            "weakest match probability among the pairs that joined the cluster (1.0 alone)",
            nullable=False,
        ),
    ),
)

# Research zone: pseudonymised longitudinal tables written by `leo build` (linked/<run>/).
# No direct identifier and no source record id reaches them; the measures follow the
# definitions in conf/catalogue.yaml (`definitions:`), implemented in spark_jobs/outcomes.py
# and spark_jobs/cohorts.py.
PERSON = Table(
    "person",
    "person",
    "One row per person kept in the research zone (opted-out persons removed)",
    (
        Column("person_pid", pa.string(), CONTENT, "person pseudonym (HMAC)", nullable=False),
        Column("sex", pa.string(), CONTENT, "F or M: the KS4 record's, else the most frequent"),
        Column("birth_year", pa.int16(), CONTENT, "year of birth (most frequent over records)"),
        Column("birth_month", pa.int8(), CONTENT, "month of birth, 1-12, with birth_year"),
        Column("ethnicity_major", pa.string(), CONTENT, "major ethnic group at KS4"),
        Column("fsm_ever", pa.bool_(), CONTENT, "eligible for free school meals at KS4"),
        Column("sen", pa.string(), CONTENT, "none, sen_support or ehcp at KS4"),
        Column("ks4_year", pa.int16(), CONTENT, "academic year of KS4 (start year)"),
        Column("attainment8", pa.float64(), CONTENT, "Attainment 8 score at KS4"),
        Column(
            "prior_attainment_band",
            pa.string(),
            CONTENT,
            "low, middle or high (definition prior_attainment_band)",
        ),
        Column("region", pa.string(), CONTENT, "region code of the KS4 school's local authority"),
        Column(
            "graduation_year",
            pa.int16(),
            CONTENT,
            "academic year of the first HE qualification; null if none",
        ),
        Column("subject_cah2", pa.string(), CONTENT, "subject of the first HE qualification"),
        Column("provider_id", pa.string(), CONTENT, "provider of the first HE qualification"),
        Column("qualification", pa.string(), CONTENT, "the first HE qualification's aim"),
        Column("sources", pa.string(), CONTENT, "sources linked, sorted, comma separated", False),
        Column("n_records", pa.int64(), CONTENT, "source records linked to the person", False),
        Column(
            "min_match_probability",
            pa.float64(),
            CONTENT,
            "weakest match probability inside the person's cluster (1.0 for a singleton)",
            nullable=False,
        ),
    ),
)

PERSON_TAX_YEAR = Table(
    "person_tax_year",
    "person x tax year",
    "A person's activity in a tax year; present when the person has an employment, "
    "out-of-work benefit or education record in it (absent: activity not captured)",
    (
        Column("person_pid", pa.string(), CONTENT, "person pseudonym (HMAC)", nullable=False),
        Column("tax_year", pa.int16(), CONTENT, "tax year (start year)", nullable=False),
        Column(
            "employed_days",
            pa.int16(),
            CONTENT,
            "days in the tax year in PAYE employment, concurrent jobs counted once",
            nullable=False,
        ),
        Column(
            "paye_earnings",
            pa.float64(),
            CONTENT,
            "PAYE pay in the tax year summed over employments, GBP",
            nullable=False,
        ),
        Column(
            "employed_months_oct_mar",
            pa.int8(),
            CONTENT,
            "months of October to March with at least one day of PAYE employment, 0-6",
            nullable=False,
        ),
        Column(
            "sustained_employment",
            pa.bool_(),
            CONTENT,
            "definition sustained_employment",
            nullable=False,
        ),
        Column(
            "annualised_earnings",
            pa.float64(),
            CONTENT,
            "definition annualised_earnings; null unless in sustained employment",
        ),
        Column(
            "out_of_work_benefit_days",
            pa.int16(),
            CONTENT,
            "days in the tax year on an out-of-work benefit (definition out_of_work_benefit)",
            nullable=False,
        ),
        Column("in_education", pa.bool_(), CONTENT, "definition in_education", nullable=False),
        Column(
            "activity",
            pa.string(),
            CONTENT,
            "definition activity: employment_only, employment_and_study, study_only or "
            "no_sustained_destination",
            nullable=False,
        ),
    ),
)

# Research zone: the one table `leo publish` aggregates. One row per person per cohort per
# years-after. Dimension columns never hold null: a missing value is the category "unknown",
# because null means "all" in release cells.
COHORT_OUTCOMES = Table(
    "cohort_outcomes",
    "person x cohort x years after",
    "Outcome of each cohort member in the tax year that is `years_after` years after",
    (
        Column("person_pid", pa.string(), CONTENT, "person pseudonym (HMAC)", nullable=False),
        Column("cohort_type", pa.string(), CONTENT, "ks4 or graduate", nullable=False),
        Column("cohort", pa.string(), CONTENT, 'academic year label, e.g. "2014/15"', False),
        Column("years_after", pa.int8(), CONTENT, "1, 3, 5 or 10", nullable=False),
        Column("tax_year", pa.int16(), CONTENT, "the tax year measured (start year)", False),
        Column("sex", pa.string(), CONTENT, "F, M or unknown", nullable=False),
        Column("ethnicity_major", pa.string(), CONTENT, "major ethnic group or unknown", False),
        Column("fsm", pa.string(), CONTENT, "fsm, not_fsm or unknown", nullable=False),
        Column("sen", pa.string(), CONTENT, "none, sen_support, ehcp or unknown", False),
        Column(
            "prior_attainment_band", pa.string(), CONTENT, "low, middle, high or unknown", False
        ),
        Column("region", pa.string(), CONTENT, "region code at KS4 or unknown", False),
        Column("subject_cah2", pa.string(), CONTENT, "graduates: CAH2 code; ks4: n/a", False),
        Column("provider_id", pa.string(), CONTENT, "graduates: provider; ks4: n/a", False),
        Column("qualification", pa.string(), CONTENT, "graduates: qualification; ks4: n/a", False),
        Column(
            "activity",
            pa.string(),
            CONTENT,
            "employment_only, employment_and_study, study_only, no_sustained_destination "
            "or not_captured",
            nullable=False,
        ),
        Column("sustained_employment", pa.bool_(), CONTENT, "5 of 6 months Oct-Mar", False),
        Column("in_education", pa.bool_(), CONTENT, "in education in the tax year", False),
        Column("out_of_work_benefit", pa.bool_(), CONTENT, "any out-of-work benefit day", False),
        Column(
            "annualised_earnings",
            pa.float64(),
            CONTENT,
            "PAYE earnings / days employed x 365; null unless in sustained employment",
        ),
        Column(
            "linked", pa.bool_(), CONTENT, "linked to at least one outcome source record", False
        ),
        Column(
            "min_match_probability",
            pa.float64(),
            CONTENT,
            "weakest match probability inside the person's cluster (1.0 for a singleton)",
            nullable=False,
        ),
    ),
)

CELL_STATUSES = ("published", "suppressed", "low_reliability", "not_applicable", "unavailable")
# GSS symbols: c confidential, low (rounds to zero), u low reliability, z not applicable,
# x unavailable. A published cell has no flag.
CELL_FLAGS = ("c", "low", "u", "z", "x")
# What each symbol tells a reader of a table (the web pages' legend and tooltips).
CELL_FLAG_MEANINGS = {
    "c": "Confidential: withheld to protect the people in the cell",
    "low": "Low: rounds to zero, but is not zero",
    "u": "Low reliability: based on few people, use with caution",
    "z": "Not applicable",
    "x": "Not available",
}


def release_cells_table(dimensions: list[str]) -> Table:
    """The output-zone contract: one row per cell. A dimension column is null in cells that
    are totals over that dimension."""
    return Table(
        "cells",
        "cell",
        "Disclosure-controlled cells of a release",
        (
            Column("cohort_type", pa.string(), CONTENT, "ks4 or graduate", nullable=False),
            Column("cohort", pa.string(), CONTENT, 'academic year label, e.g. "2014/15"', False),
            Column("years_after", pa.int8(), CONTENT, "1, 3, 5 or 10", nullable=False),
            *(
                Column(d, pa.string(), CONTENT, f"value of dimension {d}; null = all")
                for d in dimensions
            ),
            Column("measure", pa.string(), CONTENT, "measure id (catalogue)", nullable=False),
            Column("value", pa.float64(), CONTENT, "published value; null when not released"),
            Column("status", pa.string(), CONTENT, " | ".join(CELL_STATUSES), nullable=False),
            Column("flag", pa.string(), CONTENT, "GSS symbol: " + ", ".join(CELL_FLAGS)),
            Column("reason", pa.string(), CONTENT, "the rule that set the status"),
        ),
    )


def academic_year_label(start_year: int) -> str:
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def tax_year_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def parse_academic_year_label(label: str) -> int:
    """'2014/15' -> 2014; raises ValueError naming the label otherwise."""
    try:
        start, end = label.split("/")
        start_year = int(start)
        if len(start) != 4 or int(end) != (start_year + 1) % 100:
            raise ValueError
    except ValueError:
        raise ValueError(f"not an academic year label like '2014/15': {label!r}") from None
    return start_year


@dataclass
class DictionaryRenderer:
    """Markdown for docs/data-dictionary.md."""

    sections: list[str] = field(default_factory=list)

    def table(self, t: Table) -> None:
        self.sections.append(f"### `{t.name}`\n\n{t.description}. Grain: {t.grain}.\n")
        rows = ["| column | type | role | nullable | description |", "|---|---|---|---|---|"]
        for c in t.columns:
            nullable = "yes" if c.nullable else "no"
            rows.append(f"| `{c.name}` | {c.type} | {c.role} | {nullable} | {c.description} |")
        self.sections.append("\n".join(rows) + "\n")

    def render(self) -> str:
        conventions = "Conventions:" + (__doc__ or "").split("Conventions:", 1)[1]
        head = (
            "# Data dictionary\n\n"
            "Generated by `leo data-dictionary` from `leo/schema.py`; do not edit by hand.\n\n"
            f"{conventions.strip()}\n\n"
            f"Roles: `{IDENTIFIER}` never leaves the identity zone; `{RECORD_ID}` is replaced by "
            f"an HMAC pseudonym before the research zone; `{LINKAGE_ATTRIBUTE}` is compared in "
            f"linkage and may be kept; `{CONTENT}` is an attribute or event.\n\n"
        )
        return head + "\n".join(self.sections)


def data_dictionary() -> str:
    r = DictionaryRenderer()
    r.sections.append("## Source extracts (`raw/<source>/`, identity zone)\n")
    for t in SOURCES.values():
        r.table(t)
    r.sections.append("## Ground truth (`truth/<table>/`, synthetic data only)\n")
    for t in TRUTH.values():
        r.table(t)
    r.sections.append("## Linkage output (`work/<run>/`, identity zone)\n")
    r.table(RECORD_PERSON)
    r.table(LINKED_PERSONS)
    r.sections.append("## Research zone (`linked/<run>/`)\n")
    r.table(PERSON)
    r.table(PERSON_TAX_YEAR)
    r.table(COHORT_OUTCOMES)
    r.sections.append(_definitions_section())
    return r.render()


def _definitions_section() -> str:
    """The research zone's definitions, as conf/catalogue.yaml states them (imported here
    rather than at the top: leo.catalogue imports this module)."""
    from leo.catalogue import load_catalogue

    cat = load_catalogue()
    rows = [
        "## Definitions (`conf/catalogue.yaml`)\n",
        "Where a column's description says `definition X`, X is stated here.\n",
        "| id | label | definition |",
        "|---|---|---|",
    ]
    rows += [f"| `{d.id}` | {d.label} | {d.definition} |" for d in cat.definitions]
    rows += [f"| `{d.id}` | {d.label} | {d.definition} |" for d in cat.dimensions if d.definition]
    return "\n".join(rows) + "\n"
