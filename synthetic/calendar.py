"""Dates as integer days since 1970-01-01 (numpy int64), and the UK academic and tax years
(leo/schema.py conventions: a year is named by the year it starts; a tax year runs from 6 April
to 5 April)."""

from __future__ import annotations

import numpy as np

NEVER = np.int64(10**7)  # a date after every real one (year ~29000): "no such event"
DAYS_PER_YEAR = 365.25


def ymd(year: np.ndarray | int, month: np.ndarray | int, day: np.ndarray | int) -> np.ndarray:
    """Days since the epoch for (year, month, day); day may overflow the month (rolls on)."""
    months = (np.asarray(year, dtype=np.int64) - 1970) * 12 + (np.asarray(month) - 1)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return first + np.asarray(day, dtype=np.int64) - 1


def split(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) arrays of day counts."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def tax_year_start(ty: np.ndarray | int) -> np.ndarray:
    return ymd(ty, 4, 6)


def tax_year_of(days: np.ndarray) -> np.ndarray:
    year, month, day = split(days)
    before = (month < 4) | ((month == 4) & (day < 6))
    return year - before


def academic_year_of(days: np.ndarray) -> np.ndarray:
    """The academic year (September to August) a date falls in."""
    year, month, _ = split(days)
    return year - (month < 9)


def add_years(days: np.ndarray, years: np.ndarray | float) -> np.ndarray:
    return np.asarray(days, dtype=np.int64) + np.round(np.asarray(years) * DAYS_PER_YEAR).astype(
        np.int64
    )


def age_at(dob: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Age in (fractional) years."""
    return (np.asarray(days) - np.asarray(dob)) / DAYS_PER_YEAR
