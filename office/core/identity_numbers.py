"""Swedish personal identity numbers (personnummer) and coordination numbers
(samordningsnummer) in free text: found so they can be refused, never stored or echoed.

The individuals Drivhuset serves are clients of social services: their identity must not
appear in a room grid, a feed, a seminar list or an export. A number is recognised

- with or without century (YYMMDD-NNNN, YYYYMMDDNNNN), with a separator ('-', '+', an en
  dash or another dash, a space) or none, also inside longer text;
- in fullwidth digits (what some phone keyboards type) and with Unicode dashes;
- as a coordination number: the day plus 60 (61-91).

In free text (`contains_identity_number`) a number written the way Skatteverket writes it,
with its dash or plus, is refused on a plausible date alone (made-up and mistyped numbers
are typed too); a bare run of 10 or 12 digits needs the Luhn check digit to match, so phone
and order numbers pass (one in ten plausible ones does not: the message says what to do).
A field that must hold a pseudonym only (the trepartssamtal reference) asks with
`check_digit=False`: any plausible run of digits is refused there.
"""

from __future__ import annotations

import re
import unicodedata

# After NFKC (fullwidth digits and signs become ASCII) the dashes still differ: map them.
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), "-")
# Six or eight digits, an optional separator, four digits; not inside a longer digit run.
_CANDIDATE = re.compile(r"(?<!\d)(\d{8}|\d{6})( ?[-+] ?| ?)(\d{4})(?!\d)")
# For the strict check: digits with at most three separators between them.
_DIGIT_RUN = re.compile(r"\d(?:[-+ .]{0,3}\d)*")


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").translate(_DASHES)


def _plausible_birth_date(digits: str) -> bool:
    """YYMMDD (or CCYYMMDD) with a real month and a day 1-31, or 61-91 (coordination number)."""
    if len(digits) == 12:
        if digits[:2] not in ("18", "19", "20"):
            return False
        digits = digits[2:]
    month, day = int(digits[2:4]), int(digits[4:6])
    return 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)


def luhn_valid(ten_digits: str) -> bool:
    """The check digit of YYMMDDNNNN (the Luhn algorithm, as Skatteverket uses it)."""
    total = 0
    for index, char in enumerate(ten_digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return total % 10 == 0


def _is_identity_number(date_part: str, separator: str, serial: str) -> bool:
    digits = date_part + serial
    if not _plausible_birth_date(digits):
        return False
    written_as_one = "-" in separator or "+" in separator
    return written_as_one or luhn_valid(digits[-10:])


def contains_identity_number(text: str | None, check_digit: bool = True) -> bool:
    """True when the text holds something that is (or, without check_digit, could be) a
    personnummer or samordningsnummer."""
    if not text:
        return False
    text = _normalised(text)
    if check_digit:
        return any(_is_identity_number(*found) for found in _CANDIDATE.findall(text))
    for run in _DIGIT_RUN.findall(text):
        digits = re.sub(r"\D", "", run)
        for width in (10, 12):
            for start in range(0, len(digits) - width + 1):
                if _plausible_birth_date(digits[start:start + width]):
                    return True
    return False


def without_identity_numbers(text: str) -> str:
    """The text with each number found (as contains_identity_number finds them) cut out, so a
    refused form can show what was typed without showing the number again."""
    text = _normalised(text)
    return _CANDIDATE.sub(lambda m: "…" if _is_identity_number(*m.groups()) else m.group(0), text)


def longest_digit_run(text: str | None) -> int:
    """The most digits in a row (separators allowed): ten or more is never a pseudonym."""
    runs = _DIGIT_RUN.findall(_normalised(text or ""))
    return max((len(re.sub(r"\D", "", run)) for run in runs), default=0)
