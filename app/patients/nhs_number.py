"""NHS number checks, using the maintained `nhs-number` package for the Modulus 11 rule."""

from __future__ import annotations

import nhs_number


def normalise(value: str) -> str:
    """Digits only, or ValueError with a message a clerk can act on."""
    digits = "".join(ch for ch in value if ch not in " -")
    if not (digits.isascii() and digits.isdigit()) or len(digits) != 10:
        raise ValueError("NHS number must be 10 digits")
    if not nhs_number.is_valid(digits):
        raise ValueError("NHS number is not valid: its check digit does not match")
    return digits


def display(value: str | None) -> str:
    """The 3 3 4 format used on screen and paper."""
    if not value:
        return ""
    return f"{value[:3]} {value[3:6]} {value[6:]}"
