"""Identity corruption primitives, vectorised over whole arrays of strings or dates.

Strings are edited as matrices of Unicode code points (numpy 'U' arrays viewed as uint32), so
a typo is a few array operations over every corrupted value at once, not a Python loop. The
rates and which source gets what are in conf/synthetic.yaml (`corruption`); synthetic/sources.py
decides which records are hit and calls these.

Kinds of error (what standard generators and real sources show, references.md):
- keyboard typos: mostly one substitution by a neighbouring QWERTY key, else a deleted,
  doubled/inserted or transposed letter; the first letter is rarely touched;
- dates of birth: day and month swapped (only where both are 1-12 and differ, as a form that
  validates would accept it), or one digit mistyped, which can give impossible dates such as
  2001-02-31 or month 13 (the column is text on purpose);
- NINOs: one digit mistyped or two neighbouring digits transposed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ROWS = "qwertyuiop", "asdfghjkl", "zxcvbnm"
FIRST_LETTER_SHARE = 0.04  # share of typos that hit the first letter
_OPS = np.array([0.7, 0.8, 0.9])  # substitution < 0.7 <= deletion < 0.8 <= insertion < 0.9 <= swap


def _qwerty_neighbours() -> tuple[np.ndarray, np.ndarray]:
    """For each ASCII code point: up to 6 neighbouring lower-case keys, and how many."""
    # Rows are staggered by about half a key: x = column + row / 2.
    pos = {ch: (r, c + r / 2) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    table = np.zeros((128, 6), dtype=np.uint32)
    count = np.zeros(128, dtype=np.int64)
    for ch, (r, x) in pos.items():
        near = [
            other
            for other, (r2, x2) in pos.items()
            if other != ch and abs(r2 - r) <= 1 and abs(x2 - x) <= 1
        ]
        near = near[:6]
        table[ord(ch), : len(near)] = [ord(x) for x in near]
        count[ord(ch)] = len(near)
    return table, count


NEIGHBOURS, NEIGHBOUR_COUNT = _qwerty_neighbours()


def _to_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(m, width + 1) uint32 code points (a spare zero column for insertions), and width."""
    text = np.asarray(values, dtype=object).astype(str)
    width = max(1, text.dtype.itemsize // 4)
    codes = np.zeros((len(text), width + 1), dtype=np.uint32)
    if len(text):
        codes[:, :width] = text.view(np.uint32).reshape(len(text), width)
    return codes, width


def _from_codes(codes: np.ndarray) -> np.ndarray:
    m, width = codes.shape
    if m == 0:
        return np.zeros(0, dtype=object)
    return np.ascontiguousarray(codes).view(f"<U{width}").reshape(m).astype(object)


def _neighbour(c: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A key next to each character (case kept); a random letter for non-letters."""
    is_upper = (c >= ord("A")) & (c <= ord("Z"))
    lower = np.where(is_upper, c + 32, c)
    ascii_letter = (lower >= ord("a")) & (lower <= ord("z"))
    safe = np.where(ascii_letter, lower, 0).astype(np.int64)
    count = NEIGHBOUR_COUNT[safe]
    pick = NEIGHBOURS[safe, np.minimum((u * np.maximum(count, 1)).astype(np.int64), 5)]
    random_letter = ord("a") + (u * 26).astype(np.uint32)
    random_letter = np.where(
        random_letter == lower, ord("a") + (random_letter - ord("a") + 1) % 26, random_letter
    )
    out = np.where(ascii_letter & (count > 0), pick, random_letter).astype(np.uint32)
    return np.where(is_upper, out - 32, out).astype(np.uint32)


def keyboard_typos(values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One typo in each string of `values` (object array, no None), driven by `u`, an (m, 4)
    array of uniform draws: position, kind of typo, replacement key, first-letter chance."""
    m = len(values)
    if m == 0:
        return np.zeros(0, dtype=object)
    codes, width = _to_codes(values)
    length = (codes != 0).sum(axis=1)
    rows = np.arange(m)
    op = np.searchsorted(_OPS, u[:, 1], side="right")
    first = (u[:, 3] < FIRST_LETTER_SHARE) | (length < 2)
    pos = np.where(first, 0, 1 + (u[:, 0] * np.maximum(length - 1, 1)).astype(np.int64))
    pos = np.minimum(pos, np.maximum(length - 1, 0))
    # Short names only get substitutions; a swap of two equal letters would change nothing.
    other = np.where(pos + 1 < length, pos + 1, pos - 1)
    same = codes[rows, pos] == codes[rows, np.maximum(other, 0)]
    op = np.where((length <= 3) | ((op == 3) & (same | (other < 0))), 0, op)

    out = codes.copy()
    sub = op == 0
    out[rows[sub], pos[sub]] = _neighbour(codes[rows[sub], pos[sub]], u[sub, 2])
    swap = op == 3
    a, b = pos[swap], other[swap]
    out[rows[swap], a] = codes[rows[swap], b]
    out[rows[swap], b] = codes[rows[swap], a]
    j = np.arange(width + 1)[None, :]
    dele = op == 1
    if dele.any():
        src = np.minimum(j + (j >= pos[dele, None]), width)
        out[dele] = np.take_along_axis(codes[dele], src, axis=1)
    ins = op == 2
    if ins.any():
        src = np.where(j > pos[ins, None], j - 1, j)
        shifted = np.take_along_axis(codes[ins], src, axis=1)
        here = codes[rows[ins], pos[ins]]
        # Half the insertions double the letter, half add a neighbouring key.
        double = u[ins, 2] < 0.5
        shifted[np.arange(int(ins.sum())), pos[ins]] = np.where(
            double, here, _neighbour(here, u[ins, 2] * 2 - 1)
        )
        out[ins] = shifted
    return _from_codes(out)


# Dates of birth as an (n, 8) matrix of digits: Y Y Y Y M M D D.
def date_digits(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    y = np.asarray(year, dtype=np.int64)
    return np.stack(
        [
            y // 1000 % 10,
            y // 100 % 10,
            y // 10 % 10,
            y % 10,
            month // 10,
            month % 10,
            day // 10,
            day % 10,
        ],
        axis=1,
    ).astype(np.uint32)


def fixed_ascii(codes: np.ndarray) -> pa.StringArray:
    """Arrow strings from an (n, width) matrix of ASCII codes, all of that width (no copy
    through Python objects)."""
    n, width = codes.shape
    data = np.ascontiguousarray(codes, dtype=np.uint8)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def date_text(digits: np.ndarray) -> pa.StringArray:
    """'YYYY-MM-DD' strings from a digit matrix."""
    n = len(digits)
    codes = np.full((n, 10), ord("-"), dtype=np.uint8)
    codes[:, [0, 1, 2, 3, 5, 6, 8, 9]] = digits + ord("0")
    return fixed_ascii(codes)


def day_month_swappable(digits: np.ndarray) -> np.ndarray:
    month = digits[:, 4] * 10 + digits[:, 5]
    day = digits[:, 6] * 10 + digits[:, 7]
    return (day >= 1) & (day <= 12) & (day != month)


def swap_day_month(digits: np.ndarray, mask: np.ndarray) -> None:
    """In place, where `mask`."""
    d = digits[mask]
    d[:, [4, 5, 6, 7]] = d[:, [6, 7, 4, 5]]
    digits[mask] = d


_DATE_DIGIT_P = np.cumsum([0.15, 0.25, 0.05, 0.15, 0.10, 0.30])  # Y3 Y4 M1 M2 D1 D2


def digit_typos(digits: np.ndarray, mask: np.ndarray, u: np.ndarray) -> None:
    """In place: one mistyped digit where `mask` (u: (n, 2) uniform draws). Mostly the
    neighbouring digit (+-1), else any other; years keep their century."""
    rows = np.flatnonzero(mask)
    col = 2 + np.minimum(np.searchsorted(_DATE_DIGIT_P, u[rows, 0], side="right"), 5)
    _mistype(digits, rows, col, u[rows, 1])


def _mistype(digits: np.ndarray, rows: np.ndarray, col: np.ndarray, u: np.ndarray) -> None:
    step = np.where(u < 0.3, 1, np.where(u < 0.6, 9, 1 + ((u - 0.6) / 0.4 * 8).astype(np.int64)))
    digits[rows, col] = (digits[rows, col] + step) % 10


def nino_typos(values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One digit of each NINO (AB123456C) mistyped, or two neighbouring digits swapped."""
    m = len(values)
    if m == 0:
        return np.zeros(0, dtype=object)
    codes, _ = _to_codes(values)
    rows = np.arange(m)
    col = 2 + np.minimum((u[:, 0] * 6).astype(np.int64), 5)
    nxt = np.where(col < 7, col + 1, col - 1)
    swap = (u[:, 1] < 0.3) & (codes[rows, col] != codes[rows, nxt])
    a, b = codes[rows, col].copy(), codes[rows, nxt].copy()
    codes[rows[swap], col[swap]] = b[swap]
    codes[rows[swap], nxt[swap]] = a[swap]
    d = (codes[rows[~swap], col[~swap]] - ord("0")).astype(np.uint32)[:, None]
    _mistype(d, np.arange(len(d)), np.zeros(len(d), dtype=np.int64), u[~swap, 2])
    codes[rows[~swap], col[~swap]] = d[:, 0] + ord("0")
    return _from_codes(codes)


def initials(values: np.ndarray) -> np.ndarray:
    """First letter of each string (middle names recorded as an initial)."""
    arr = pa.array(values, pa.string())
    return np.asarray(
        pc.utf8_slice_codeunits(arr, 0, 1).to_numpy(zero_copy_only=False), dtype=object
    )


def double_barrel_variants(values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """'Smith-Jones' recorded as 'Smith Jones' (40%), 'Smith' (20%) or 'Jones' (40%)."""
    arr = pa.array(values, pa.string())
    spaced = pc.replace_substring(arr, "-", " ", max_replacements=1)
    parts = pc.split_pattern(arr, "-", max_splits=1)
    first = pc.list_element(parts, 0)
    second = pc.list_element(parts, 1)
    kind = pa.array(np.searchsorted([0.4, 0.6], u, side="right"))
    out = pc.case_when(pc.make_struct(pc.equal(kind, 0), pc.equal(kind, 1)), spaced, first, second)
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=object)
