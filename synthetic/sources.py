"""The five source extracts and the ground truth for one chunk, as Arrow tables with exactly
the contract's schemas (leo/schema.py SOURCES and TRUTH).

Each source turns the chunk's life courses into rows ("events": who, as at which date, and
the content columns), then attaches identity columns as that source would hold them:
- what is true at the record's date: the surname after a marriage, the address lived at
  then (education rows too), no NINO before it was issued;
- then the source's corruption (conf `corruption.<source>`), drawn per record. In
  `employments` a record is one employment: its tax-year rows share one identity (so the
  linker sees one profile, not 40), except the postcode, which is the address held that
  year, and the surname after a marriage;
- duplicates: a share of records appears twice under another record id, each copy with its
  own errors.
Rows are shuffled within the chunk and get opaque record ids (a bijection of the chunk index
and row number, so ids are unique across chunks and say nothing about the person).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leo.schema import SOURCES, TRUTH
from synthetic import calendar as cal
from synthetic import corruption as cor
from synthetic.careers import BENEFIT_TYPES, Careers
from synthetic.config import ETHNIC_GROUPS, SourceCorruption, SyntheticConfig
from synthetic.geography import REGION_CODES, geography
from synthetic.names import name_tables
from synthetic.population import (
    CLASSIFICATIONS,
    KS4,
    QUALIFICATIONS,
    SEN_LEVELS,
    People,
    higher_education_tables,
)
from synthetic.streams import Streams

SOURCE_NAMES = tuple(SOURCES)
RECORD_PREFIX = {"ks4": "P", "ks5": "L", "he": "H", "employments": "E", "benefits": "B"}
_ROWS_PER_CHUNK = 1 << 24  # record-id space per chunk and source
_ID_MASK = (1 << 48) - 1
_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)

# Corruption flags recorded per row in the debug output (tests compare them with the config).
FLAGS = (
    "duplicate",
    "forename_nickname",
    "forename_typo",
    "middle_missing",
    "middle_initial",
    "middle_typo",
    "surname_double_barrel_variant",
    "surname_typo",
    "name_order_swap",
    "dob_day_month_swap",
    "dob_digit_typo",
    "sex_missing",
    "postcode_missing",
    "postcode_stale",
    "nino_missing",
    "nino_typo",
)
ELIGIBLE = (
    "nickname_eligible",
    "middle_eligible",
    "double_barrel_eligible",
    "dob_swap_eligible",
    "stale_eligible",
    "nino_eligible",
)


@dataclass
class Events:
    """Rows of one source before identities: whose, as at which date, which record."""

    person: np.ndarray  # chunk-local person index
    date: np.ndarray  # identity as at this day
    unit: np.ndarray  # record whose identity the row carries (0..n_units-1)
    content: dict[str, pa.Array]

    def take(self, rows: np.ndarray) -> Events:
        idx = pa.array(rows)
        return Events(
            self.person[rows],
            self.date[rows],
            self.unit[rows],
            {k: v.take(idx) for k, v in self.content.items()},
        )


@dataclass
class ChunkTables:
    tables: dict[str, pa.Table]  # source name, "truth/records", "truth/persons"
    debug: dict[str, pa.Table] = field(default_factory=dict)


def _arr(values: np.ndarray, source: str, column: str) -> pa.Array:
    typ = SOURCES[source].column(column).type
    if pa.types.is_date32(typ):
        v = np.asarray(values, dtype=np.int64)
        return pa.array(v.astype(np.int32), pa.int32(), mask=v >= cal.NEVER).cast(pa.date32())
    return pa.array(values, typ)


def _nullable_int(values: np.ndarray, typ: pa.DataType) -> pa.Array:
    return pa.array(values, typ, mask=np.asarray(values) < 0)


def _events(source: str, cfg: SyntheticConfig, p: People, careers: Careers) -> Events:
    geo = geography()
    he_tables = higher_education_tables()
    if source == "ks4":
        idx = np.flatnonzero(p.kind == KS4)
        year = p.ks4_year[idx].astype(np.int64)
        content = {
            "academic_year": _arr(year, source, "academic_year"),
            "la_code": pa.array(geo.la_codes[p.la[idx]], pa.string()),
            "school_urn": pc.cast(pa.array(p.school_urn[idx]), pa.string()),
            "fsm_eligible": pa.array(p.fsm[idx]),
            "sen_provision": pa.array(np.array(SEN_LEVELS, dtype=object)[p.sen[idx]], pa.string()),
            "ethnicity_major": pa.array(
                np.array(ETHNIC_GROUPS, dtype=object)[p.ethnicity[idx]], pa.string()
            ),
            "attainment8": pa.array(p.attainment8[idx]),
            "eng_maths_grade4": pa.array(p.eng_maths[idx]),
        }
        return Events(idx, cal.ymd(year + 1, 1, 15), np.arange(len(idx)), content)
    if source == "ks5":
        r = p.ks5
        assert r is not None
        content = {
            "academic_year": _arr(r.academic_year, source, "academic_year"),
            "qualification_level": pa.array(np.where(r.level3, "level3", "level2"), pa.string()),
            "a_level_points": pa.array(r.points, pa.float64(), from_pandas=True),
        }
        date = cal.ymd(r.academic_year.astype(np.int64) + 1, 1, 15)
        return Events(r.person, date, np.arange(len(r.person)), content)
    if source == "he":
        h = p.he
        assert h is not None
        content = {
            "provider_id": pa.array(np.array(he_tables.provider_ids, dtype=object)[h.provider]),
            "subject_cah2": pa.array(np.array(he_tables.codes, dtype=object)[h.subject]),
            "qualification": pa.array(np.array(QUALIFICATIONS, dtype=object)[h.qualification]),
            "start_year": _arr(h.start_year, source, "start_year"),
            "graduation_year": _nullable_int(h.graduation_year, pa.int16()),
            "classification": pa.array(
                np.array(CLASSIFICATIONS, dtype=object)[np.maximum(h.classification, 0)],
                pa.string(),
                mask=h.classification < 0,
            ),
        }
        date = cal.ymd(h.start_year.astype(np.int64), 10, 1)
        return Events(h.person, date, np.arange(len(h.person)), content)
    if source == "employments":
        s, rows = careers.spells, careers.pay
        spell = rows.spell
        e = s.employer[spell]
        ref = pc.binary_join_element_wise(
            pc.cast(pa.array(100 + e % 900), pa.string()),
            pa.scalar("/"),
            _letters(e // 900),
            pc.utf8_lpad(pc.cast(pa.array((e * 7919) % 100_000), pa.string()), 5, "0"),
            "",
        )
        content = {
            "employer_ref": ref,
            "tax_year": pa.array(rows.tax_year, pa.int16()),
            "start_date": _arr(s.start[spell], source, "start_date"),
            "end_date": _arr(s.end[spell], source, "end_date"),
            "pay": pa.array(rows.pay),
        }
        date = np.maximum(s.start[spell], cal.tax_year_start(rows.tax_year.astype(np.int64)))
        return Events(s.person[spell], date, spell, content)
    if source == "benefits":
        b = careers.benefits
        content = {
            "benefit_type": pa.array(np.array(BENEFIT_TYPES, dtype=object)[b.benefit]),
            "out_of_work": pa.array(b.out_of_work),
            "start_date": _arr(b.start, source, "start_date"),
            "end_date": _arr(b.end, source, "end_date"),
        }
        return Events(b.person, b.start, np.arange(len(b.person)), content)
    raise ValueError(f"unknown source {source!r}")


def _letters(values: np.ndarray) -> pa.Array:
    alphabet = pa.array([chr(ord("A") + i) for i in range(26)])
    v = np.asarray(values) % (26 * 26)
    return pc.binary_join_element_wise(alphabet.take(v // 26), alphabet.take(v % 26), "")


def _has_hyphen(values: np.ndarray) -> np.ndarray:
    hit = pc.match_substring(pa.array(values, pa.string()), "-")
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _duplicate(ev: Events, rate: float, rng: np.random.Generator) -> tuple[Events, np.ndarray]:
    """Append a second copy of a share of records, as new records (new unit numbers)."""
    n_units = int(ev.unit.max()) + 1 if len(ev.unit) else 0
    dup = rng.random(n_units) < rate
    new_unit = n_units + np.cumsum(dup) - 1
    rows = np.flatnonzero(dup[ev.unit]) if n_units else np.zeros(0, dtype=np.int64)
    copy = ev.take(rows)
    copy.unit = new_unit[copy.unit]
    merged = Events(
        np.concatenate([ev.person, copy.person]),
        np.concatenate([ev.date, copy.date]),
        np.concatenate([ev.unit, copy.unit]),
        {k: pa.concat_arrays([v, copy.content[k]]) for k, v in ev.content.items()},
    )
    is_dup = np.concatenate([np.zeros(len(ev.person), bool), np.ones(len(rows), bool)])
    return merged, is_dup


def _identity(
    source: str,
    c: SourceCorruption,
    ev: Events,
    p: People,
    postcodes: pa.Array,
    cfg: SyntheticConfig,
    rng: np.random.Generator,
) -> tuple[dict[str, pa.Array], dict[str, np.ndarray]]:
    names = name_tables(cfg.names)
    n_units = int(ev.unit.max()) + 1 if len(ev.unit) else 0
    up = np.zeros(n_units, dtype=np.int64)
    up[ev.unit] = ev.person
    female = p.female[up]
    flags: dict[str, np.ndarray] = {}

    # Forename: a nickname where the table has one, then keyboard typos.
    fore = p.extras["forename_text"][up].copy()
    u = rng.random((n_units, 3))
    idx_f = p.forename[up] % len(names.forenames["F"].names)
    idx_m = p.forename[up] % len(names.forenames["M"].names)
    count = np.where(female, names.nick_count["F"][idx_f], names.nick_count["M"][idx_m])
    start = np.where(female, names.nick_start["F"][idx_f], names.nick_start["M"][idx_m])
    flags["nickname_eligible"] = count > 0
    nick = (count > 0) & (u[:, 0] < c.forename.nickname)
    pick = start + np.minimum((u[:, 1] * count).astype(np.int64), np.maximum(count - 1, 0))
    fore[nick] = names.nick_values[pick[nick]]
    typo = u[:, 2] < c.forename.typo
    fore[typo] = cor.keyboard_typos(fore[typo], rng.random((int(typo.sum()), 4)))
    flags["forename_nickname"], flags["forename_typo"] = nick, typo

    # Middle names: dropped, cut to an initial, or mistyped (of those who have one).
    mid = p.middle_names[up].copy()
    has = mid != None  # noqa: E711 (element-wise on an object array)
    u = rng.random((n_units, 3))
    missing = has & (u[:, 0] < c.middle_names.missing)
    initial = has & ~missing & (u[:, 1] < c.middle_names.initial_only)
    mtypo = has & ~missing & ~initial & (u[:, 2] < c.middle_names.typo)
    mid[initial] = cor.initials(mid[initial])
    mid[mtypo] = cor.keyboard_typos(mid[mtypo], rng.random((int(mtypo.sum()), 4)))
    mid[missing] = None
    flags["middle_eligible"] = has
    flags["middle_missing"], flags["middle_initial"], flags["middle_typo"] = (
        missing,
        initial,
        mtypo,
    )

    # Surname at birth and after marriage, with the same errors applied to both.
    pre = p.surname[up].copy()
    married = p.married_surname[up]
    post = np.where(married != None, married, pre)  # noqa: E711
    u = rng.random((n_units, 3))
    pre_db = _has_hyphen(pre)
    post_db = _has_hyphen(post)
    barrelled = pre_db | post_db
    variant = barrelled & (u[:, 0] < c.surname.double_barrel_variant)
    for arr, db in ((pre, pre_db), (post, post_db)):
        hit = variant & db
        arr[hit] = cor.double_barrel_variants(arr[hit], u[hit, 1])
    styp = u[:, 2] < c.surname.typo
    draws = rng.random((int(styp.sum()), 4))
    pre[styp] = cor.keyboard_typos(pre[styp], draws)
    post[styp] = cor.keyboard_typos(post[styp], draws)
    flags["double_barrel_eligible"] = barrelled
    flags["surname_double_barrel_variant"], flags["surname_typo"] = variant, styp
    swap = rng.random(n_units) < c.name_order_swap
    flags["name_order_swap"] = swap

    # Date of birth.
    y, m, d = cal.split(p.dob[up])
    digits = cor.date_digits(y, m, d)
    u = rng.random((n_units, 4))
    swappable = cor.day_month_swappable(digits)
    dm = swappable & (u[:, 0] < c.date_of_birth.day_month_swap)
    cor.swap_day_month(digits, dm)
    dt = u[:, 1] < c.date_of_birth.digit_typo
    cor.digit_typos(digits, dt, u[:, 2:4])
    flags["dob_swap_eligible"] = swappable
    flags["dob_day_month_swap"], flags["dob_digit_typo"] = dm, dt

    sex_missing = rng.random(n_units) < c.sex.missing
    sex = np.where(sex_missing, None, np.where(female, "F", "M"))
    flags["sex_missing"] = sex_missing

    unit = pa.array(ev.unit)
    f_unit = pa.array(fore, pa.string()).take(unit)
    married_row = pa.array(ev.date >= p.marriage_date[ev.person])
    s_row = pc.if_else(
        married_row, pa.array(post, pa.string()).take(unit), pa.array(pre, pa.string()).take(unit)
    )
    swap_row = pa.array(swap[ev.unit])
    cols: dict[str, pa.Array] = {
        "forename": pc.if_else(swap_row, s_row, f_unit),
        "middle_names": pa.array(mid, pa.string()).take(unit),
        "surname": pc.if_else(swap_row, f_unit, s_row),
        "sex": pa.array(sex, pa.string()).take(unit),
        "date_of_birth": cor.date_text(digits).take(unit),
    }

    # Postcode: the address at the record's date, per row (sources update addresses).
    n_rows = len(ev.person)
    slot = p.address_slot(ev.person, ev.date)
    u = rng.random((n_rows, 2))
    stale = (slot > 0) & (u[:, 0] < c.postcode.stale)
    pc_missing = u[:, 1] < c.postcode.missing
    codes = postcodes.take(pa.array(ev.person * 4 + slot - stale))
    cols["postcode"] = pc.if_else(pa.array(pc_missing), pa.scalar(None, pa.string()), codes)
    row_flags = {
        "stale_eligible": slot > 0,
        "postcode_stale": stale,
        "postcode_missing": pc_missing,
    }

    nino_cfg = getattr(c, "nino", None)
    if nino_cfg is not None:
        nino = p.nino[up].copy()
        has_nino = nino != None  # noqa: E711
        u = rng.random((n_units, 2))
        n_missing = has_nino & (u[:, 0] < nino_cfg.missing)
        n_typo = has_nino & ~n_missing & (u[:, 1] < nino_cfg.typo)
        nino[n_typo] = cor.nino_typos(nino[n_typo], rng.random((int(n_typo.sum()), 3)))
        nino[n_missing] = None
        issued = pa.array(ev.date >= p.nino_date[ev.person])
        cols["nino"] = pc.if_else(
            issued, pa.array(nino, pa.string()).take(unit), pa.scalar(None, pa.string())
        )
        flags["nino_eligible"] = has_nino
        flags["nino_missing"], flags["nino_typo"] = n_missing, n_typo

    if c.name_case == "upper":
        for k in ("forename", "middle_names", "surname"):
            cols[k] = pc.utf8_upper(cols[k])

    per_row = {k: v[ev.unit] for k, v in flags.items()}
    per_row.update(row_flags)
    return cols, per_row


def _mix48(x: np.ndarray) -> np.ndarray:
    """A bijection of 48-bit integers (xor-shifts and odd multipliers), so ids are distinct
    and look unrelated to the row they were made from."""
    mask = np.uint64(_ID_MASK)
    x = x & mask
    for shift, mult in ((23, 0x5DEECE66D), (19, 0xB5AD4ECEDA1), (25, 0x2545F4914F6D)):
        x ^= x >> np.uint64(shift)
        x = (x * np.uint64(mult)) & mask
    return x ^ (x >> np.uint64(21))


def record_ids(source: str, chunk_index: int, n: int) -> pa.Array:
    """Opaque ids like 'E3F0A9C21B7D4', unique per source across chunks."""
    if n >= _ROWS_PER_CHUNK:
        raise ValueError(f"{source}: {n:,} rows in one chunk; use a smaller --chunk-size")
    seq = np.uint64(chunk_index) * np.uint64(_ROWS_PER_CHUNK) + np.arange(n, dtype=np.uint64)
    v = _mix48(seq + np.uint64((SOURCE_NAMES.index(source) + 1) * 0x9E3779B1))
    shifts = np.arange(44, -1, -4, dtype=np.uint64)
    codes = np.empty((n, 13), dtype=np.uint8)
    codes[:, 0] = ord(RECORD_PREFIX[source])
    codes[:, 1:] = _HEX[((v[:, None] >> shifts[None, :]) & np.uint64(15)).astype(np.intp)]
    return cor.fixed_ascii(codes)


def build_source(
    source: str,
    cfg: SyntheticConfig,
    p: People,
    careers: Careers,
    postcodes: pa.Array,
    streams: Streams,
    chunk_index: int,
) -> tuple[pa.Table, np.ndarray, dict[str, np.ndarray]]:
    """(table, chunk-local person per row, debug columns per row)."""
    c = cfg.corruption.for_source(source)
    ev = _events(source, cfg, p, careers)
    ev, is_dup = _duplicate(ev, c.duplicate, streams.get(f"duplicates:{source}"))
    ident, flags = _identity(source, c, ev, p, postcodes, cfg, streams.get(f"identity:{source}"))
    flags["duplicate"] = is_dup
    n = len(ev.person)
    order = streams.get(f"order:{source}").permutation(n)
    take = pa.array(order)
    schema = SOURCES[source].arrow_schema
    record_id = SOURCES[source].record_id
    columns = []
    for f in schema:
        if f.name == record_id:
            columns.append(record_ids(source, chunk_index, n))
        else:
            col = ident[f.name] if f.name in ident else ev.content[f.name]
            columns.append(col.take(take).cast(f.type))
    table = pa.Table.from_arrays(columns, schema=schema)
    debug = {k: v[order] for k, v in flags.items()}
    debug["unit"] = ev.unit[order]
    return table, ev.person[order], debug


def build_chunk(
    cfg: SyntheticConfig,
    p: People,
    careers: Careers,
    streams: Streams,
    chunk_index: int,
    debug: bool = False,
) -> ChunkTables:
    geo = geography()
    postcodes = geo.postcodes(p.address.reshape(-1))
    out = ChunkTables({})
    truth_parts = []
    for source in SOURCE_NAMES:
        table, person, flags = build_source(
            source, cfg, p, careers, postcodes, streams, chunk_index
        )
        out.tables[source] = table
        ids = table.column(SOURCES[source].record_id).combine_chunks()
        truth_parts.append(
            pa.table(
                {
                    "source": pa.array(np.full(len(person), source, dtype=object), pa.string()),
                    "record_id": ids,
                    "person_id": pa.array(p.person_id[person], pa.int64()),
                }
            )
        )
        if debug:
            cols = {"person_id": p.person_id[person], **flags}
            out.debug[source] = pa.table({k: pa.array(v) for k, v in cols.items()})
    out.tables["truth/records"] = pa.concat_tables(truth_parts).cast(TRUTH["records"].arrow_schema)
    ks4 = p.kind == KS4
    region = np.array(REGION_CODES, dtype=object)[geo.la_region[p.la]]
    persons = {
        "person_id": pa.array(p.person_id, pa.int64()),
        "sex": pa.array(np.where(p.female, "F", "M"), pa.string()),
        "ethnicity_major": pa.array(
            np.array(ETHNIC_GROUPS, dtype=object)[p.ethnicity], pa.string()
        ),
        "fsm_eligible": pa.array(p.fsm, mask=~ks4),
        "region": pa.array(region, pa.string(), mask=~ks4),
        "ks4_academic_year": _nullable_int(p.ks4_year, pa.int16()),
        "emigrated_tax_year": _nullable_int(p.emigrated_tax_year, pa.int16()),
    }
    out.tables["truth/persons"] = pa.table(persons).cast(TRUTH["persons"].arrow_schema)
    if debug:
        out.debug["persons"] = _person_debug(p, postcodes)
    return out


def _person_debug(p: People, postcodes: pa.Array) -> pa.Table:
    """True identities and attributes, for tests only (never written)."""
    y, m, d = cal.split(p.dob)
    return pa.table(
        {
            "person_id": p.person_id,
            "kind": p.kind,
            "forename": pa.array(p.extras["forename_text"], pa.string()),
            "middle_names": pa.array(p.middle_names, pa.string()),
            "surname": pa.array(p.surname, pa.string()),
            "married_surname": pa.array(p.married_surname, pa.string()),
            "date_of_birth": cor.date_text(cor.date_digits(y, m, d)),
            "nino": pa.array(p.nino, pa.string()),
            "family_root": p.person_id[p.family_root],
            "twin": p.twin,
            "home_postcode": postcodes.take(pa.array(np.arange(p.n) * 4)),
            "graduation_date": p.graduation_date,
            "subject": p.subject,
        }
    )
