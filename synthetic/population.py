"""People and their life courses, generated for one chunk at a time with whole-array numpy
operations (no Python loop per person).

The mechanics, deliberately simple (coefficients are documented choices of ours; the shares
they must reproduce are in conf/synthetic.yaml and tested in tests/synthetic):

- Kinds of people. Most are pupils of a KS4 cohort (first_ks4_year..last_ks4_year). A share
  (`non_ks4_share`) never had a KS4 record: parents of a pupil (living at the pupil's home,
  usually with the same surname), older workers, adult immigrants, and international students
  (HE records without KS4). Linkage must leave their records unmatched to any pupil.
- Families. A pupil may be the sibling of the pupil before them (`sibling_share`): same
  surname, ethnicity, school and home postcode, born 1-3 years apart; some are twins (same date
  of birth too). Twins, relatives at one address and a few pairs given a common name and the
  same date of birth (`common_name_dob_share`) are the hard negatives.
- Background and attainment. A family socio-economic score `ses` ~ N(0, 1); FSM is the bottom
  of it, at the region's configured share. A latent ability mixes ses, a family term and an
  own term; Attainment 8 = mean + sd x ability, lower for FSM (beyond ses), SEN, boys, and by
  region, clipped to 0-90.
- Post-16. An education propensity rising with attainment, for girls, minority ethnic groups
  and London, and falling with FSM, picks the top `he_entry_share` of each chunk's pupils for
  higher education and, by a noisier version, the rest of the `ks5_share` for a KS5 record.
- Higher education: subject by sex and attainment (subjects.csv), provider by selectivity tier
  and home region (providers.csv), first degree or other undergraduate, duration, completion,
  degree class, and postgraduate study for some graduates.
- Addresses: four address slots per person; the first is the family home near the school,
  later ones follow moves at leave-home age and then every few years, mostly nearby.
- Life events: marriage (most women who marry take the spouse's surname, shown by later
  records), emigration (no activity from the 6 April it happens), a NINO issued at about 15y
  9m (or on arrival) for all but `no_nino_share`.

Employment and benefit spells are in synthetic/careers.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from statistics import NormalDist

import numpy as np

from synthetic import calendar as cal
from synthetic.config import ETHNIC_GROUPS, NON_KS4_KINDS, ORIGINS, SyntheticConfig
from synthetic.geography import REGION_CODES, Geography, geography
from synthetic.names import NameTables, name_tables, read_data_csv
from synthetic.streams import Streams

KINDS = ("ks4", *NON_KS4_KINDS)
KS4, PARENT, OLDER_WORKER, IMMIGRANT, INTERNATIONAL_STUDENT = range(5)
SEN_LEVELS = ("none", "sen_support", "ehcp")
QUALIFICATIONS = ("first_degree", "other_undergraduate", "postgraduate")
CLASSIFICATIONS = ("first", "upper_second", "lower_second", "third", "pass")
LONDON = REGION_CODES.index("E12000007")
_ORIGIN = {o: i for i, o in enumerate(ORIGINS)}
_ETHNIC = {e: i for i, e in enumerate(ETHNIC_GROUPS)}
# Attainment 8 points by ethnic group, and education-propensity shifts (minority ethnic
# groups enter HE more often at the same attainment).
_A8_ETHNIC = {"white": 0.0, "mixed": 0.0, "asian": 1.5, "black": -1.0, "other": 0.5}
_EDU_ETHNIC = {"mixed": 0.1, "asian": 0.45, "black": 0.35, "other": 0.3}
# Immigrants' and international students' name origins.
_IMMIGRANT_ORIGINS = {
    "eastern_european": 0.45,
    "south_asian": 0.2,
    "african": 0.15,
    "arabic": 0.1,
    "mediterranean": 0.1,
}
_STUDENT_ORIGINS = {
    "east_asian": 0.4,
    "south_asian": 0.25,
    "mediterranean": 0.15,
    "eastern_european": 0.1,
    "arabic": 0.1,
}
_ORIGIN_ETHNICITY = {
    "british": "white",
    "irish": "white",
    "eastern_european": "white",
    "mediterranean": "white",
    "south_asian": "asian",
    "east_asian": "asian",
    "african": "black",
    "arabic": "other",
}
NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_BANNED = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}
NINO_PREFIXES = tuple(a + b for a in NINO_FIRST for b in NINO_SECOND if a + b not in _NINO_BANNED)
_NINO_SPACE = len(NINO_PREFIXES) * 1_000_000
_NINO_MULT = 2_654_435_761  # coprime with the space: person id -> NINO is one-to-one


@dataclass(frozen=True)
class HigherEducationTables:
    codes: tuple[str, ...]
    share: np.ndarray
    female_share: np.ndarray
    attainment_tilt: np.ndarray
    earnings_premium: np.ndarray
    provider_ids: tuple[str, ...]
    provider_region: np.ndarray
    provider_tier: np.ndarray
    provider_size: np.ndarray


@cache
def higher_education_tables() -> HigherEducationTables:
    subjects = read_data_csv("subjects.csv")
    providers = read_data_csv("providers.csv")
    share = np.array([float(r["share"]) for r in subjects])
    return HigherEducationTables(
        codes=tuple(r["cah2"] for r in subjects),
        share=share / share.sum(),
        female_share=np.array([float(r["female_share"]) for r in subjects]),
        attainment_tilt=np.array([float(r["attainment_tilt"]) for r in subjects]),
        earnings_premium=np.array([float(r["earnings_premium"]) for r in subjects]),
        provider_ids=tuple(r["provider_id"] for r in providers),
        provider_region=np.array([REGION_CODES.index(r["region_code"]) for r in providers]),
        provider_tier=np.array([int(r["tier"]) for r in providers]),
        provider_size=np.array([float(r["size"]) for r in providers]),
    )


@dataclass
class Ks5Records:
    person: np.ndarray
    academic_year: np.ndarray
    level3: np.ndarray
    points: np.ndarray  # NaN for level 2


@dataclass
class HeRecords:
    person: np.ndarray
    provider: np.ndarray
    subject: np.ndarray
    qualification: np.ndarray
    start_year: np.ndarray
    graduation_year: np.ndarray  # -1: did not (yet) qualify
    classification: np.ndarray  # -1: none
    leave_date: np.ndarray  # the day the student left the course


@dataclass
class People:
    """One chunk's people. Dates are days since 1970-01-01; -1 or NEVER mean 'none'."""

    person_id: np.ndarray
    kind: np.ndarray
    female: np.ndarray
    dob: np.ndarray
    ethnicity: np.ndarray
    origin: np.ndarray
    forename: np.ndarray  # index into the forename vocabulary of the person's sex
    middle_names: np.ndarray  # object: "Anne", "Anne Marie" or None
    surname: np.ndarray  # object: surname at birth (or at arrival)
    married_surname: np.ndarray  # object: surname after marriage, or None
    marriage_date: np.ndarray
    family_root: np.ndarray  # index of the family's first member (self if none)
    twin: np.ndarray
    la: np.ndarray  # KS4: the school's local authority; others: home local authority
    ks4_year: np.ndarray  # -1 if no KS4 record
    school_urn: np.ndarray
    fsm: np.ndarray
    sen: np.ndarray
    attainment8: np.ndarray
    eng_maths: np.ndarray
    ses: np.ndarray
    ability: np.ndarray
    address: np.ndarray  # (n, 4) address codes
    moves: np.ndarray  # (n, 3) dates the person moved to address slot 1, 2, 3
    arrival: np.ndarray  # first day the person can appear in records
    nino: np.ndarray  # object
    nino_date: np.ndarray
    emigration_date: np.ndarray
    emigrated_tax_year: np.ndarray  # -1 if never
    study_start: np.ndarray  # start of post-16 study (NEVER if none)
    education_end: np.ndarray  # end of full-time education
    graduation_date: np.ndarray  # first (undergraduate) qualification; NEVER if none
    subject: np.ndarray  # subject of that qualification, -1 if none
    ks5: Ks5Records | None = None
    he: HeRecords | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.person_id)

    def address_slot(self, person: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Which address slot (0-3) each person lived at on each date."""
        m = self.moves[person]
        return (days[:, None] >= m).sum(axis=1)


def _choice(rng: np.random.Generator, shares: dict[str, float], keys: tuple[str, ...], n: int):
    p = np.array([shares.get(k, 0.0) for k in keys])
    return rng.choice(len(keys), size=n, p=p / p.sum())


def _gumbel_argmax(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)


def nino_strings(person_id: np.ndarray, suffix_u: np.ndarray) -> np.ndarray:
    """A distinct, valid-looking NINO per global person id (prefix, six digits, suffix A-D)."""
    code = (person_id.astype(np.int64) * _NINO_MULT + 12_345) % _NINO_SPACE
    prefixes = np.array(NINO_PREFIXES, dtype=object)[code // 1_000_000]
    digits = np.char.zfill((code % 1_000_000).astype(str), 6).astype(object)
    suffix = np.array(list("ABCD"), dtype=object)[(suffix_u * 4).astype(int)]
    return prefixes + digits + suffix


def simulate(cfg: SyntheticConfig, n: int, first_person_id: int, streams: Streams) -> People:
    geo = geography()
    names = name_tables(cfg.names)
    people = _demographics(cfg, n, first_person_id, streams, geo, names)
    _attainment(cfg, people, streams.get("attainment"), geo)
    _education(cfg, people, streams.get("education"), geo)
    _addresses(cfg, people, streams.get("addresses"), geo)
    _life_events(cfg, people, streams.get("life-events"), names)
    return people


def _demographics(
    cfg: SyntheticConfig,
    n: int,
    first_person_id: int,
    streams: Streams,
    geo: Geography,
    names: NameTables,
) -> People:
    pop = cfg.population
    co = cfg.cohorts
    rng = streams.get("demographics")
    kind = np.where(
        rng.random(n) < pop.non_ks4_share,
        1 + _choice(rng, pop.non_ks4_kinds, NON_KS4_KINDS, n),
        KS4,
    ).astype(np.int8)
    ks4 = np.flatnonzero(kind == KS4)
    m = len(ks4)
    if m == 0:
        kind[kind == PARENT] = OLDER_WORKER  # a parent needs a pupil in the chunk

    # Families among pupils: a sibling joins the family of the pupil before them.
    sib = rng.random(m) < pop.sibling_share
    if m:
        sib[0] = False
    twin_ks4 = sib & (
        rng.random(m) < (pop.twin_share / pop.sibling_share if pop.sibling_share else 0)
    )
    root_pos = np.maximum.accumulate(np.where(sib, 0, np.arange(m)))

    female = rng.random(n) >= pop.male_share
    ses = rng.standard_normal(n)
    la = geo.sample_la(rng.random(n)).astype(np.int32)

    # Cohort and date of birth: pupils are born in the academic year 16 years before KS4.
    ks4_year = np.full(n, -1, dtype=np.int16)
    y = rng.integers(co.first_ks4_year, co.last_ks4_year + 1, m)
    off = rng.integers(1, 4, m) * np.where(rng.random(m) < 0.5, -1, 1)
    sib_year = y[root_pos] + off
    outside = (sib_year < co.first_ks4_year) | (sib_year > co.last_ks4_year)
    sib_year = np.where(outside, y[root_pos] - off, sib_year)
    sib_year = np.clip(sib_year, co.first_ks4_year, co.last_ks4_year)
    y = np.where(sib & ~twin_ks4, sib_year, y)
    y = np.where(twin_ks4, y[root_pos], y)
    born_from = cal.ymd(y - 16, 9, 1)
    dob_ks4 = born_from + (rng.random(m) * (cal.ymd(y - 15, 9, 1) - born_from)).astype(np.int64)
    dob_ks4 = np.where(twin_ks4, dob_ks4[root_pos], dob_ks4)
    ks4_year[ks4] = y

    dob = np.zeros(n, dtype=np.int64)
    dob[ks4] = dob_ks4
    arrival = dob.copy()
    family_root = np.arange(n)
    family_root[ks4] = ks4[root_pos]
    twin = np.zeros(n, dtype=bool)
    twin[ks4] = twin_ks4

    # Family-level attributes of pupils come from the family's first member.
    fam = family_root[ks4]
    ses[ks4] = ses[fam]
    la[ks4] = la[fam]

    region = geo.la_region[la]
    ethnicity = np.zeros(n, dtype=np.int8)
    eth = pop.ethnicity
    for r, code in enumerate(REGION_CODES):
        mask = region == r
        if mask.any():
            shares = eth.by_region.get(code, eth.default)
            ethnicity[mask] = _choice(rng, shares, ETHNIC_GROUPS, int(mask.sum()))
    origin = np.zeros(n, dtype=np.int8)
    for g, group in enumerate(ETHNIC_GROUPS):
        mask = ethnicity == g
        if mask.any():
            origin[mask] = _choice(rng, eth.origins[group], ORIGINS, int(mask.sum()))
    ethnicity[ks4] = ethnicity[fam]
    origin[ks4] = origin[fam]

    # People without a KS4 record.
    parent = np.flatnonzero(kind == PARENT)
    child = ks4[rng.integers(0, max(m, 1), len(parent))] if m else parent
    older = np.flatnonzero(kind == OLDER_WORKER)
    immigrant = np.flatnonzero(kind == IMMIGRANT)
    student = np.flatnonzero(kind == INTERNATIONAL_STUDENT)
    first_day = cal.tax_year_start(co.first_tax_year)
    last_day = cal.tax_year_start(co.last_tax_year + 1) - 1

    dob[parent] = cal.add_years(dob[child], -rng.uniform(22, 40, len(parent)))
    la[parent] = la[child]
    ses[parent] = ses[child]
    ethnicity[parent] = ethnicity[child]
    origin[parent] = origin[child]
    family_root[parent] = family_root[child]
    arrival[parent] = dob[parent]

    dob[older] = cal.ymd(1960, 1, 1) + (rng.random(len(older)) * 29 * 365.25).astype(np.int64)
    arrival[older] = dob[older]

    dob[immigrant] = cal.ymd(1970, 1, 1) + (rng.random(len(immigrant)) * 29 * 365.25).astype(
        np.int64
    )
    earliest = np.maximum(first_day, cal.add_years(dob[immigrant], 18))
    latest = np.maximum(earliest, last_day - 365)
    arrival[immigrant] = earliest + (rng.random(len(immigrant)) * (latest - earliest)).astype(
        np.int64
    )
    origin[immigrant] = _choice(rng, _IMMIGRANT_ORIGINS, ORIGINS, len(immigrant))
    start_year = rng.integers(co.first_ks4_year + 2, co.last_tax_year - 3, len(student))
    arrival[student] = cal.ymd(start_year, 9, 15)
    dob[student] = cal.ymd(start_year - 19, 9, 1) + rng.integers(0, 365, len(student))
    origin[student] = _choice(rng, _STUDENT_ORIGINS, ORIGINS, len(student))
    origin_ethnicity = np.array([_ETHNIC[_ORIGIN_ETHNICITY[o]] for o in ORIGINS], dtype=np.int8)
    for idx in (immigrant, student):
        ethnicity[idx] = origin_ethnicity[origin[idx]]

    # Names: forename origin follows the family's, with some British forenames.
    fore_origin = np.where(rng.random(n) < cfg.names.british_forename_share, 0, origin)
    forename = np.zeros(n, dtype=np.int32)
    middle_a = np.zeros(n, dtype=np.int32)
    middle_b = np.zeros(n, dtype=np.int32)
    u_fore, u_mid_a, u_mid_b, u_twin = rng.random((4, n))
    for s, is_female in (("F", True), ("M", False)):
        mask = female == is_female
        vocab = names.forenames[s]
        forename[mask] = vocab.sample(fore_origin[mask], u_fore[mask])
        middle_a[mask] = vocab.sample(fore_origin[mask], u_mid_a[mask])
        middle_b[mask] = vocab.sample(fore_origin[mask], u_mid_b[mask])
        # Twins get a forename different from their twin's.
        tw = np.flatnonzero(mask & twin)
        same = female[family_root[tw]] == is_female
        clash = tw[same & (forename[tw] == forename[family_root[tw]])]
        forename[clash] = (forename[clash] + 1 + (u_twin[clash] * 5).astype(np.int32)) % len(
            vocab.names
        )
    # Juniors: a son named after his father (the parent record).
    fathers = parent[~female[parent] & ~female[child]]
    sons = child[~female[parent] & ~female[child]]
    junior = rng.random(len(fathers)) < pop.junior_share
    forename[sons[junior]] = forename[fathers[junior]]

    surname = names.surnames.names[names.surnames.sample(origin, rng.random(n))].astype(object)
    second = names.surnames.names[names.surnames.sample(origin, rng.random(n))].astype(object)
    double = (rng.random(n) < cfg.names.double_barrelled_share) & (surname != second)
    surname[double] = surname[double] + "-" + second[double]
    surname[ks4] = surname[fam]
    # Parents: fathers share the family surname; most mothers too.
    keep_own = female[parent] & (rng.random(len(parent)) >= 0.8)
    surname[parent[~keep_own]] = surname[child[~keep_own]]

    # Hard negatives: pairs of unrelated pupils given one common name and the same birthday.
    singles = ks4[(np.bincount(root_pos, minlength=m) == 1) & ~sib] if m else ks4
    n_pairs = round(pop.common_name_dob_share * m / 2)
    n_pairs = min(n_pairs, len(singles) // 2)
    if n_pairs:
        chosen = rng.choice(singles, size=2 * n_pairs, replace=False)
        a, b = chosen[:n_pairs], chosen[n_pairs:]
        female[b] = female[a]
        # The most common names come first in the lists (index 0-4 forenames, 0-2 surnames).
        forename[a] = rng.integers(0, 5, n_pairs)
        forename[b] = forename[a]
        surname[a] = names.surnames.names[rng.integers(0, 3, n_pairs)]
        surname[b] = surname[a]
        dob[b] = dob[a]
        ks4_year[b] = ks4_year[a]

    fore_names = np.empty(n, dtype=object)
    middle = np.empty(n, dtype=object)
    has_mid = rng.random(n) < cfg.names.middle_name_share
    has_mid2 = has_mid & (rng.random(n) < cfg.names.second_middle_name_share)
    for s, is_female in (("F", True), ("M", False)):
        mask = female == is_female
        vocab = names.forenames[s].names
        # (indices drawn for the other sex, where a hard-negative pair changed it, wrap round)
        fore_names[mask] = vocab[forename[mask] % len(vocab)]
        a = vocab[middle_a[mask] % len(vocab)]
        b = vocab[middle_b[mask] % len(vocab)]
        mid = np.where(has_mid2[mask], a + " " + b, a)
        middle[mask] = np.where(has_mid[mask], mid, None)
    # A middle name equal to the forename is dropped (Jack Jack is not a pattern we want).
    middle[(middle == fore_names)] = None

    extras = {"forename_text": fore_names}
    none = np.full(n, -1, dtype=np.int16)
    return People(
        person_id=first_person_id + np.arange(n, dtype=np.int64),
        kind=kind,
        female=female,
        dob=dob,
        ethnicity=ethnicity,
        origin=origin,
        forename=forename,
        middle_names=middle,
        surname=surname,
        married_surname=np.full(n, None, dtype=object),
        marriage_date=np.full(n, cal.NEVER),
        family_root=family_root,
        twin=twin,
        la=la,
        ks4_year=ks4_year,
        school_urn=np.full(n, -1, dtype=np.int32),
        fsm=np.zeros(n, dtype=bool),
        sen=np.zeros(n, dtype=np.int8),
        attainment8=np.full(n, np.nan),
        eng_maths=np.zeros(n, dtype=bool),
        ses=ses,
        ability=np.zeros(n),
        address=np.zeros((n, 4), dtype=np.int64),
        moves=np.full((n, 3), cal.NEVER),
        arrival=arrival,
        nino=np.full(n, None, dtype=object),
        nino_date=np.full(n, cal.NEVER),
        emigration_date=np.full(n, cal.NEVER),
        emigrated_tax_year=none.copy(),
        study_start=np.full(n, cal.NEVER),
        education_end=np.zeros(n, dtype=np.int64),
        graduation_date=np.full(n, cal.NEVER),
        subject=none.copy(),
        extras=extras,
    )


def _attainment(cfg: SyntheticConfig, p: People, rng: np.random.Generator, geo: Geography) -> None:
    n = p.n
    ks4 = p.kind == KS4
    region = geo.la_region[p.la]
    edu = cfg.education
    pop = cfg.population
    shares = np.clip([pop.fsm_share_by_region[c] for c in REGION_CODES], 1e-9, 1 - 1e-9)
    threshold = np.array([NormalDist().inv_cdf(float(s)) for s in shares])
    # 0.95^2 + 0.31^2 ~ 1: the score stays standard normal, so the share is the configured one.
    fsm = (0.95 * p.ses + 0.31 * rng.standard_normal(n)) < threshold[region]
    male = ~p.female
    p_ehcp = pop.ehcp_share * np.where(male, 1.5, 0.5) * np.where(fsm, 1.4, 0.93)
    p_support = pop.sen_support_share * np.where(male, 1.3, 0.7) * np.where(fsm, 1.6, 0.89)
    u = rng.random(n)
    sen = np.where(u < p_ehcp, 2, np.where(u < p_ehcp + p_support, 1, 0)).astype(np.int8)
    family_term = rng.standard_normal(n)[p.family_root]
    p.ability = 0.45 * p.ses + 0.35 * family_term + 0.82 * rng.standard_normal(n)
    region_effect = np.array([edu.attainment8_region_effect.get(c, 0.0) for c in REGION_CODES])
    ethnic_effect = np.array([_A8_ETHNIC.get(e, -1.0) for e in ETHNIC_GROUPS])
    a8 = (
        edu.attainment8_base
        + edu.attainment8_sd * (p.ability - edu.fsm_attainment_gap_sd * fsm)
        + region_effect[region]
        + np.where(p.female, 2.0, -2.0)
        + np.array([0.0, -10.0, -22.0])[sen]
        + ethnic_effect[p.ethnicity]
    )
    a8 = np.clip(np.round(a8, 1), 0.0, 90.0)
    p.fsm = fsm & ks4
    p.sen = np.where(ks4, sen, 0).astype(np.int8)
    p.attainment8 = np.where(ks4, a8, np.nan)
    p.eng_maths = ks4 & (a8 + 5.0 * rng.standard_normal(n) > 44.0)
    # Schools: each local authority has schools in proportion to its size; siblings share one.
    n_schools = np.maximum(2, np.round(geo.la_weight * 3000)).astype(np.int64)
    school = (rng.random(n) * n_schools[p.la]).astype(np.int64)[p.family_root]
    p.school_urn = np.where(ks4, 100000 + p.la.astype(np.int64) * 250 + school, -1).astype(np.int32)


def _top(score: np.ndarray, share: float) -> np.ndarray:
    """The `share` of entries with the highest score (an exact count per chunk)."""
    k = round(share * len(score))
    mask = np.zeros(len(score), dtype=bool)
    if k:
        mask[np.argsort(score, kind="stable")[len(score) - k :]] = True
    return mask


def _subject_and_provider(
    z: np.ndarray,
    female: np.ndarray,
    region: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    t = higher_education_tables()
    fs = t.female_share[None, :]
    logits = (
        np.log(t.share)[None, :]
        + np.where(female[:, None], np.log(fs), np.log(1 - fs))
        + 0.6 * t.attainment_tilt[None, :] * z[:, None]
    )
    subject = _gumbel_argmax(logits, rng)
    tier_level = np.array([0.0, 1.2, 0.0, -1.0])[t.provider_tier]
    logits = (
        np.log(t.provider_size)[None, :]
        + 1.2 * (t.provider_region[None, :] == region[:, None])
        - 1.0 * np.abs(tier_level[None, :] - z[:, None])
    )
    return subject, _gumbel_argmax(logits, rng)


def _education(cfg: SyntheticConfig, p: People, rng: np.random.Generator, geo: Geography) -> None:
    edu = cfg.education
    last_grad_year = cfg.cohorts.last_tax_year - 1  # qualifications known by the extract
    ks4 = np.flatnonzero(p.kind == KS4)
    m = len(ks4)
    region = geo.la_region[p.la]
    z = (p.attainment8[ks4] - 48.0) / 15.0
    ethnic_shift = np.array([_EDU_ETHNIC.get(e, 0.0) for e in ETHNIC_GROUPS])
    propensity = (
        0.85 * z
        + 0.2 * p.female[ks4]
        + ethnic_shift[p.ethnicity[ks4]]
        + 0.25 * (region[ks4] == LONDON)
        - 0.25 * p.fsm[ks4]
        + 0.2 * p.ses[ks4]
        + 0.6 * rng.standard_normal(m)
    )
    he = _top(propensity, edu.he_entry_share)
    rest_share = (edu.ks5_share - 0.95 * edu.he_entry_share) / max(1e-9, 1 - edu.he_entry_share)
    ks5 = he & (rng.random(m) < 0.95)
    noisy = propensity + 0.5 * rng.standard_normal(m)
    ks5[~he] = _top(noisy[~he], min(1.0, rest_share))
    a8 = p.attainment8[ks4]
    level3 = np.where(he, rng.random(m) < 0.95, a8 + 6.0 * rng.standard_normal(m) > 45.0)
    ks5_year = p.ks4_year[ks4] + np.where(rng.random(m) < 0.88, 2, 3)
    points = np.clip(32.0 + 8.0 * (a8 - 55.0) / 15.0 + 6.0 * rng.standard_normal(m), 0, 60)
    k5 = ks5
    p.ks5 = Ks5Records(
        person=ks4[k5],
        academic_year=ks5_year[k5].astype(np.int16),
        level3=level3[k5],
        points=np.where(level3[k5], np.round(points[k5], 2), np.nan),
    )

    # Undergraduate entrants: pupils picked for HE and the international students.
    students = np.flatnonzero(p.kind == INTERNATIONAL_STUDENT)
    pupils = ks4[he]
    entrants = np.concatenate([pupils, students])
    ne = len(entrants)
    delay = rng.choice(7, size=len(pupils), p=[0.72, 0.18, 0.04, 0.03, 0.015, 0.01, 0.005])
    delay = np.where(ks5_year[he] == p.ks4_year[pupils] + 3, np.maximum(delay, 1), delay)
    start = np.concatenate(
        [p.ks4_year[pupils] + 2 + delay, cal.academic_year_of(p.arrival[students])]
    ).astype(np.int64)
    ze = np.concatenate([z[he], 0.3 + rng.standard_normal(len(students))])
    home = np.concatenate([region[pupils], np.full(len(students), -1)])
    subject, provider = _subject_and_provider(ze, p.female[entrants], home, rng)
    other_ug = (rng.random(ne) < np.clip(0.15 - 0.05 * ze, 0.05, 0.3)) & (
        np.arange(ne) < len(pupils)
    )
    codes = higher_education_tables().codes
    long_course = np.isin(subject, [codes.index("CAH01-01"), codes.index("CAH05-01")])
    duration = np.where(
        other_ug,
        np.where(rng.random(ne) < 0.4, 1, 2),
        np.where(long_course, 5, np.where(rng.random(ne) < 0.75, 3, 4)),
    )
    base = np.log(edu.he_completion_share / max(1e-9, 1 - edu.he_completion_share))
    completes = rng.random(ne) < 1 / (1 + np.exp(-(base + 0.5 * ze)))
    attended = np.where(
        completes, duration, np.minimum(duration, np.where(rng.random(ne) < 0.7, 1, 2))
    )
    grad = start + duration - 1
    qualified = completes & (grad <= last_grad_year)
    c = 0.8 * ze + 0.6 * rng.standard_normal(ne)
    cls = np.select([c > 0.64, c > -0.61, c > -1.39, c > -1.75], [0, 1, 2, 3], 4)
    classification = np.where(qualified & ~other_ug, cls, -1)
    leave = cal.ymd(start + attended, 6, 30)

    # Postgraduate study for some first-degree graduates.
    pg_mult = np.array([1.6, 1.15, 0.6, 0.3, 0.3])[np.maximum(classification, 0)]
    pg_start = grad + 1 + rng.choice(5, size=ne, p=[0.55, 0.2, 0.1, 0.08, 0.07])
    pg = (
        qualified
        & ~other_ug
        & (rng.random(ne) < edu.postgraduate_share * pg_mult)
        & (pg_start <= last_grad_year)
    )
    pg_dur = rng.choice([1, 2, 3], size=ne, p=[0.75, 0.1, 0.15])
    pg_done = rng.random(ne) < 0.92
    pg_grad = pg_start + pg_dur - 1
    pg_qualified = pg_done & (pg_grad <= last_grad_year)
    pg_subject, pg_provider = _subject_and_provider(ze, p.female[entrants], home, rng)
    pg_subject = np.where(rng.random(ne) < 0.75, subject, pg_subject)
    pg_provider = np.where(rng.random(ne) < 0.45, provider, pg_provider)
    pg_leave = np.where(pg_done, cal.ymd(pg_start + pg_dur, 9, 30), cal.ymd(pg_start + 1, 6, 30))

    qual = np.where(other_ug, 1, 0)
    p.he = HeRecords(
        person=np.concatenate([entrants, entrants[pg]]),
        provider=np.concatenate([provider, pg_provider[pg]]),
        subject=np.concatenate([subject, pg_subject[pg]]),
        qualification=np.concatenate([qual, np.full(int(pg.sum()), 2)]),
        start_year=np.concatenate([start, pg_start[pg]]).astype(np.int16),
        graduation_year=np.concatenate(
            [np.where(qualified, grad, -1), np.where(pg_qualified, pg_grad, -1)[pg]]
        ).astype(np.int16),
        classification=np.concatenate([classification, np.full(int(pg.sum()), -1)]),
        leave_date=np.concatenate([leave, pg_leave[pg]]),
    )

    # Person-level summaries used by careers.py.
    post16 = np.zeros(p.n, dtype=bool)
    post16[ks4[ks5 | he]] = True
    p.study_start = np.where(post16, cal.ymd(p.ks4_year.astype(np.int64) + 1, 9, 1), cal.NEVER)
    p.study_start[students] = p.arrival[students]
    end = np.where(
        p.kind == KS4,
        cal.ymd(p.ks4_year.astype(np.int64) + 1, 7, 31),
        p.arrival,
    )
    end[ks4[ks5]] = cal.ymd(ks5_year[ks5].astype(np.int64) + 1, 7, 31)
    last_leave = np.where(pg, np.maximum(leave, pg_leave), leave)
    end[entrants] = np.maximum(end[entrants], last_leave)
    p.education_end = end
    p.graduation_date[entrants[qualified]] = cal.ymd(grad[qualified] + 1, 7, 1)
    p.subject[entrants[qualified]] = subject[qualified]


def _addresses(cfg: SyntheticConfig, p: People, rng: np.random.Generator, geo: Geography) -> None:
    n = p.n
    mv = cfg.population.moves
    region = geo.la_region[p.la]
    # The family home is in the school's local authority, sometimes a neighbouring one.
    home_la = np.where(rng.random(n) < 0.9, p.la, geo.sample_la_in_region(region, rng.random(n)))
    home = geo.random_address(home_la, rng)
    family = (p.kind == KS4) | (p.kind == PARENT)
    home = np.where(family, home[p.family_root], home)

    first_day = cal.tax_year_start(cfg.cohorts.first_tax_year)
    years = mv.years_between_moves
    scale = max(0.1, (mv.leave_home_mean_age - 16.0) / 2.0)
    leave_home = cal.add_years(p.dob, 16.0 + rng.gamma(2.0, scale, n))
    t1 = np.select(
        [p.kind == KS4, p.kind == PARENT, p.kind == OLDER_WORKER],
        [
            leave_home,
            cal.add_years(np.full(n, first_day), rng.exponential(2 * years, n)),
            cal.add_years(np.full(n, first_day), rng.exponential(years, n)),
        ],
        cal.add_years(p.arrival, rng.exponential(2.0, n)),
    )
    t2 = cal.add_years(t1, rng.exponential(years, n))
    t3 = cal.add_years(t2, rng.exponential(years, n))
    p.moves = np.stack([t1, t2, t3], axis=1)

    addresses = [home]
    current_la = geo.la_of(home)
    for _ in range(3):
        u = rng.random(n)
        same_region = geo.sample_la_in_region(geo.la_region[current_la], rng.random(n))
        anywhere = geo.sample_la(rng.random(n))
        la = np.where(
            u < mv.same_area_share,
            current_la,
            np.where(u < mv.same_area_share + mv.same_region_share, same_region, anywhere),
        )
        addresses.append(geo.random_address(la.astype(np.int64), rng))
        current_la = la
    p.address = np.stack(addresses, axis=1)


def _life_events(
    cfg: SyntheticConfig, p: People, rng: np.random.Generator, names: NameTables
) -> None:
    n = p.n
    pop = cfg.population
    co = cfg.cohorts
    last_day = cal.tax_year_start(co.last_tax_year + 1) - 1

    # Marriage: a pupil who marries and takes the spouse's name shows it in later records.
    mar = pop.marriage
    age = rng.normal(mar.mean_age, mar.sd_age, n)
    date = cal.add_years(p.dob, np.maximum(age, 18.0))
    takes = np.where(p.female, mar.female_takes_name, mar.male_takes_name)
    change = (
        (p.kind == KS4)
        & (rng.random(n) < mar.marry_share)
        & (rng.random(n) < takes)
        & (date <= last_day)
    )
    spouse_origin = np.where(rng.random(n) < 0.8, p.origin, 0)
    new = names.surnames.names[names.surnames.sample(spouse_origin, rng.random(n))].astype(object)
    both = rng.random(n) < mar.double_barrel_share
    new = np.where(both, p.surname + "-" + new, new)
    change &= new != p.surname
    p.married_surname = np.where(change, new, None)
    p.marriage_date = np.where(change, date, cal.NEVER)

    # Emigration: from 6 April of a tax year on, the person is abroad.
    u = rng.random(n)
    dob_year = cal.split(p.dob)[0]
    lo = np.select(
        [p.kind == KS4, p.kind == IMMIGRANT, p.kind == INTERNATIONAL_STUDENT],
        [dob_year + 19, cal.tax_year_of(p.arrival) + 1, cal.tax_year_of(p.education_end) + 1],
        co.first_tax_year + 1,
    )
    share = np.select(
        [p.kind == KS4, p.kind == IMMIGRANT, p.kind == INTERNATIONAL_STUDENT],
        [pop.emigration_share, pop.immigrant_emigration_share, 0.5],
        0.02,
    )
    lo = np.minimum(lo, co.last_tax_year)
    spread = np.where(p.kind == INTERNATIONAL_STUDENT, 0, co.last_tax_year - lo)
    ty = lo + (rng.random(n) * (spread + 1)).astype(np.int64)
    emigrates = (u < share) & (ty <= co.last_tax_year)
    p.emigrated_tax_year = np.where(emigrates, ty, -1).astype(np.int16)
    p.emigration_date = np.where(emigrates, cal.tax_year_start(ty), cal.NEVER)

    # NINO: issued at about 15 years 9 months, or soon after arrival.
    issued = np.select(
        [p.kind == IMMIGRANT, p.kind == INTERNATIONAL_STUDENT],
        [p.arrival + rng.integers(0, 120, n), p.arrival + rng.integers(30, 365, n)],
        cal.add_years(p.dob, 15.75) + np.round(rng.normal(0, 20, n)).astype(np.int64),
    )
    has = rng.random(n) >= pop.no_nino_share
    p.nino = np.where(has, nino_strings(p.person_id, rng.random(n)), None)
    p.nino_date = np.where(has, issued, cal.NEVER)
