"""The model of conf/synthetic.yaml: population, life-course and corruption settings.

Every rate is a probability in [0, 1]; a value outside, an unknown key (a misspelt source
name under `corruption`, say) or a missing required key fails on load with a message naming
the file and the key (leo.config). The YAML file is the one home of the default values; the
model only says what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from leo.config import StrictModel, load_conf
from leo.reference import REGIONS

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
Year = Annotated[int, Field(ge=1950, le=2100)]

ETHNIC_GROUPS = ("white", "mixed", "asian", "black", "other", "unclassified")
ORIGINS = (
    "british",
    "irish",
    "eastern_european",
    "south_asian",
    "east_asian",
    "african",
    "arabic",
    "mediterranean",
)
NON_KS4_KINDS = ("parent", "older_worker", "immigrant", "international_student")


def _check_sums_to_one(values: dict[str, float], what: str) -> None:
    total = sum(values.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must add up to 1, got {total:.6g}")


def _check_regions(keys: object, what: str) -> None:
    unknown = sorted(set(keys) - REGIONS.keys())  # type: ignore[call-overload]
    if unknown:
        raise ValueError(f"{what}: unknown region code(s) {unknown}; expected E12000001-9")


class Zipf(StrictModel):
    """Weight of the name of rank r (1 = most common): 1 / (r + offset) ** exponent."""

    exponent: Annotated[float, Field(gt=0.0, le=3.0)]
    offset: Annotated[float, Field(ge=0.0)]


class NamesConfig(StrictModel):
    forename_zipf: Zipf
    surname_zipf: Zipf
    british_surname_tail: Annotated[int, Field(ge=0, le=20000)]
    middle_name_share: Rate
    second_middle_name_share: Rate
    double_barrelled_share: Rate
    # people of a non-British origin given a forename from the British list
    british_forename_share: Rate


class Cohorts(StrictModel):
    first_ks4_year: Year
    last_ks4_year: Year
    first_tax_year: Year
    last_tax_year: Year

    @model_validator(mode="after")
    def _ordered(self) -> Cohorts:
        if self.first_ks4_year > self.last_ks4_year:
            raise ValueError("first_ks4_year must not be after last_ks4_year")
        if self.first_tax_year > self.last_tax_year:
            raise ValueError("first_tax_year must not be after last_tax_year")
        if self.last_tax_year <= self.last_ks4_year:
            raise ValueError("last_tax_year must be after last_ks4_year")
        return self


EthnicShares = dict[Literal[ETHNIC_GROUPS], Rate]  # type: ignore[valid-type]


class EthnicityConfig(StrictModel):
    default: EthnicShares
    by_region: dict[str, EthnicShares]
    # which name origins each ethnic group draws from
    origins: dict[Literal[ETHNIC_GROUPS], dict[Literal[ORIGINS], Rate]]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _valid(self) -> EthnicityConfig:
        _check_regions(self.by_region, "by_region")
        for label, shares in [("default", self.default), *self.by_region.items()]:
            if set(shares) != set(ETHNIC_GROUPS):
                raise ValueError(f"{label}: give a share for each of {list(ETHNIC_GROUPS)}")
            _check_sums_to_one(shares, f"{label} shares")
        if set(self.origins) != set(ETHNIC_GROUPS):
            raise ValueError(f"origins: give a mapping for each of {list(ETHNIC_GROUPS)}")
        for group, shares in self.origins.items():
            _check_sums_to_one(shares, f"origins.{group}")
        return self


class MarriageConfig(StrictModel):
    marry_share: Rate
    mean_age: Annotated[float, Field(ge=16, le=60)]
    sd_age: Positive
    female_takes_name: Rate
    male_takes_name: Rate
    double_barrel_share: Rate


class MovesConfig(StrictModel):
    leave_home_mean_age: Annotated[float, Field(ge=16, le=40)]
    years_between_moves: Positive
    same_area_share: Rate
    same_region_share: Rate


class PopulationConfig(StrictModel):
    male_share: Rate
    non_ks4_share: Rate
    non_ks4_kinds: dict[Literal[NON_KS4_KINDS], Rate]  # type: ignore[valid-type]
    sibling_share: Rate
    twin_share: Rate
    junior_share: Rate
    common_name_dob_share: Rate
    ethnicity: EthnicityConfig
    fsm_share_by_region: dict[str, Rate]
    sen_support_share: Rate
    ehcp_share: Rate
    no_nino_share: Rate
    emigration_share: Rate
    immigrant_emigration_share: Rate
    marriage: MarriageConfig
    moves: MovesConfig

    @model_validator(mode="after")
    def _valid(self) -> PopulationConfig:
        if set(self.non_ks4_kinds) != set(NON_KS4_KINDS):
            raise ValueError(f"non_ks4_kinds: give a share for each of {list(NON_KS4_KINDS)}")
        _check_sums_to_one(self.non_ks4_kinds, "non_ks4_kinds")
        if self.twin_share > self.sibling_share:
            raise ValueError("twin_share must not exceed sibling_share (a twin is a sibling)")
        if set(self.fsm_share_by_region) != set(REGIONS):
            missing = sorted(set(REGIONS) - set(self.fsm_share_by_region))
            _check_regions(self.fsm_share_by_region, "fsm_share_by_region")
            raise ValueError(f"fsm_share_by_region: missing region(s) {missing}")
        if self.sen_support_share + self.ehcp_share > 1:
            raise ValueError("sen_support_share + ehcp_share must not exceed 1")
        return self


class EducationConfig(StrictModel):
    attainment8_base: Annotated[float, Field(ge=0, le=90)]
    attainment8_sd: Positive
    attainment8_region_effect: dict[str, float]
    fsm_attainment_gap_sd: Annotated[float, Field(ge=0, le=3)]
    ks5_share: Rate
    he_entry_share: Rate
    he_completion_share: Rate
    postgraduate_share: Rate

    @model_validator(mode="after")
    def _valid(self) -> EducationConfig:
        _check_regions(self.attainment8_region_effect, "attainment8_region_effect")
        if self.ks5_share < 0.95 * self.he_entry_share:
            raise ValueError("ks5_share must be at least 0.95 x he_entry_share")
        return self


class LabourMarketConfig(StrictModel):
    # median annual full-time pay (GBP, in reference_year prices) by years after graduation
    graduate_median_pay: dict[int, Positive]
    # the same for people without a degree, by age
    non_graduate_median_pay: dict[int, Positive]
    reference_year: Year
    nominal_growth: Annotated[float, Field(ge=-0.1, le=0.2)]
    person_pay_sd: Annotated[float, Field(ge=0, le=2)]
    job_pay_sd: Annotated[float, Field(ge=0, le=2)]
    mean_gap_years: Positive
    detached_share: Rate
    student_job_share: Rate
    second_job_share: Rate
    part_time_share: Rate

    @model_validator(mode="after")
    def _valid(self) -> LabourMarketConfig:
        if len(self.graduate_median_pay) < 2 or len(self.non_graduate_median_pay) < 2:
            raise ValueError("pay curves need at least two points each")
        return self


class BenefitsConfig(StrictModel):
    # probability that a gap between jobs of at least a month brings an out-of-work claim,
    # for a reference person (not FSM, middle attainment, no degree)
    claim_base: Rate
    fsm_odds_ratio: Positive
    low_attainment_odds_ratio: Positive
    graduate_odds_ratio: Positive
    disability_share: Rate
    carer_share: Rate
    housing_benefit_share: Rate
    in_work_uc_share: Rate


class NameCorruption(StrictModel):
    typo: Rate = 0.0


class ForenameCorruption(NameCorruption):
    nickname: Rate = 0.0


class MiddleNamesCorruption(NameCorruption):
    missing: Rate = 0.0
    initial_only: Rate = 0.0


class SurnameCorruption(NameCorruption):
    # of people with a double-barrelled surname: recorded with one part only or a space
    double_barrel_variant: Rate = 0.0


class DateOfBirthCorruption(StrictModel):
    # among dates whose day is 1-12 and differs from the month (a swap is visible)
    day_month_swap: Rate = 0.0
    digit_typo: Rate = 0.0


class PostcodeCorruption(StrictModel):
    missing: Rate = 0.0
    # the previous address (where there is one) instead of the current one
    stale: Rate = 0.0


class SexCorruption(StrictModel):
    missing: Rate = 0.0


class NinoCorruption(StrictModel):
    missing: Rate = 0.0
    typo: Rate = 0.0


class SourceCorruption(StrictModel):
    """Per record (per employment for `employments`: its tax-year rows share one identity)."""

    name_case: Literal["as_recorded", "upper"] = "as_recorded"
    forename: ForenameCorruption = ForenameCorruption()
    middle_names: MiddleNamesCorruption = MiddleNamesCorruption()
    surname: SurnameCorruption = SurnameCorruption()
    name_order_swap: Rate = 0.0
    date_of_birth: DateOfBirthCorruption = DateOfBirthCorruption()
    postcode: PostcodeCorruption = PostcodeCorruption()
    sex: SexCorruption = SexCorruption()
    duplicate: Rate = 0.0


class NinoSourceCorruption(SourceCorruption):
    nino: NinoCorruption = NinoCorruption()


class CorruptionConfig(StrictModel):
    ks4: SourceCorruption
    ks5: SourceCorruption
    he: SourceCorruption
    employments: NinoSourceCorruption
    benefits: NinoSourceCorruption

    def for_source(self, source: str) -> SourceCorruption:
        return getattr(self, source)  # type: ignore[no-any-return]


class SyntheticConfig(StrictModel):
    chunk_size: Annotated[int, Field(ge=1, le=200_000)]
    cohorts: Cohorts
    names: NamesConfig
    population: PopulationConfig
    education: EducationConfig
    labour_market: LabourMarketConfig
    benefits: BenefitsConfig
    corruption: CorruptionConfig


CONF_NAME = "synthetic.yaml"


def load_synthetic_config(conf_dir: str | Path | None = None) -> SyntheticConfig:
    """conf/synthetic.yaml (or the copy in --conf DIR / LEO_CONF), validated."""
    return load_conf(SyntheticConfig, CONF_NAME, conf_dir)
