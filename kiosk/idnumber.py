"""Resident ID numbers (GB 11643-1999): check character and masking.

mask_id is the one way an ID number is shown on screen or written to a log.
"""

from __future__ import annotations

from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


def normalise(id_number: str) -> str:
    return id_number.strip().upper()


def birth_date(id_number: str) -> date | None:
    """The birth date the number carries, or None if it is not a real date."""
    n = normalise(id_number)
    try:
        return date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return None


def is_valid(id_number: str, today: date | None = None) -> bool:
    """18 characters, a real birth date not in the future, right check character."""
    n = normalise(id_number)
    if len(n) != 18 or not n[:17].isdigit() or n[0] == "0":
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
