"""Resident ID numbers (GB 11643-1999): check character and masking.

mask_id is the one way an ID number is shown on screen or written to a log.
"""

from __future__ import annotations

from datetime import date

from photo_wire.ids import normalise_id

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# First two digits of the area code (GB/T 2260 provinces; 71 Taiwan, 81 Hong
# Kong, 82 Macau, 83 Taiwan residents' residence permits).
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


def normalise(id_number: str) -> str:
    """The wire contract's normalisation (the server's roster import uses it too)."""
    return normalise_id(id_number)


def birth_date(id_number: str) -> date | None:
    """The birth date the number carries, or None if it is not a real date."""
    n = normalise(id_number)
    try:
        return date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return None


def area_code_plausible(id_number: str) -> bool:
    """The area code names a real province and is not a placeholder (xx0000 is
    a province itself, never a place of household registration)."""
    n = normalise(id_number)
    return n[:6].isdigit() and int(n[:2]) in PROVINCES and n[2:6] != "0000"


def is_valid(id_number: str, today: date | None = None) -> bool:
    """18 characters, a real area and birth date not in the future, right check character."""
    n = normalise(id_number)
    if len(n) != 18 or not n[:17].isdigit() or not area_code_plausible(n):
        return False
    born = birth_date(n)
    if born is None or born.year < 1900 or born > (today or date.today()):
        return False
    return check_character(n[:17]) == n[17]


def mask_id(id_number: str | None) -> str:
    """First 6 and last 4 characters at most: 640104********1234."""
    if not id_number:
        return ""
    n = normalise(id_number)
    if len(n) <= 10:
        return "*" * len(n)
    return n[:6] + "*" * (len(n) - 10) + n[-4:]


def mask_name(name: str | None) -> str:
    """First and last character of a name, the middle starred: 张*明, 李*."""
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def group_id(text: str) -> str:
    """Digits as typed, grouped 6-8-4 (region, birth date, sequence and check): 110101 19990307 002X."""
    n = normalise(text)
    return " ".join(part for part in (n[:6], n[6:14], n[14:18]) if part) + n[18:]


def entry_problem(text: str, today: date | None = None) -> str | None:
    """Why a typed ID number (complete or not yet) cannot be right, or None.

    'bad_number' (not digits, leading 0), 'bad_area_code' (as soon as the 6
    area digits are in), 'bad_birth_date' (as soon as the 8 birth-date digits
    are in), 'too_short', 'bad_check_character'. A complete number gives None
    exactly when is_valid says it is valid.
    """
    n = normalise(text)
    body = n[:17]
    if not body.isdigit() and body or n[:1] == "0" or len(n) > 18:
        return "bad_number"
    if len(n) == 18 and not (n[17].isdigit() or n[17] == "X"):
        return "bad_number"
    if len(n) >= 6 and not area_code_plausible(n):
        return "bad_area_code"
    if len(n) >= 14:
        born = birth_date(n)
        if born is None or born.year < 1900 or born > (today or date.today()):
            return "bad_birth_date"
    if len(n) < 18:
        return "too_short"
    if check_character(body) != n[17]:
        return "bad_check_character"
    return None
