"""CSV exports: one writer for every export, safe to open in a spreadsheet.

- Swedish Excel opens a file in columns when it is `;`-separated and starts with a UTF-8
  byte order mark (without it, å, ä and ö come out wrong); headers are in the user's
  language and numbers use the user's decimal comma.
- A cell that starts with `=`, `+`, `-`, `@`, a tab or a line break would run as a
  formula (OWASP "CSV injection": an anonymous guest's `=HYPERLINK(...)` in the
  coordinator's registration list). Such text gets a leading `'`, which spreadsheets
  show as text. Numbers are written as numbers, so a negative count stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from flask import Response
from flask_babel import format_decimal

from office.core.i18n import to_local

BOM = "\ufeff"
# Counts from 1 to SMALL_COUNT - 1 are shown as "<5" on every page and in every file: in a
# small week, "1 case, AF, women" can point to a person.
SMALL_COUNT = 5
DELIMITER = ";"
# Also their fullwidth forms, which some spreadsheet programs read as the plain ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def suppressed(count: int) -> int | str:
    """A count as it may be shown: 0 and 5 or more as they are, 1-4 as '<5'."""
    return f"<{SMALL_COUNT}" if 0 < count < SMALL_COUNT else count


def cell(value) -> str:
    """One value as the text of a cell: numbers in the user's format, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = str(value)
    elif isinstance(value, int):
        return str(value)
    elif isinstance(value, (float, Decimal)):
        return format_decimal(value, format="0.###")
    elif isinstance(value, datetime):
        return to_local(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable, rows: Iterable[Iterable]) -> str:
    """The whole file: BOM, the header line, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return BOM + out.getvalue()


def csv_response(filename: str, header: Iterable, rows: Iterable[Iterable]) -> Response:
    """A download of the rows; `filename` is ours (ASCII, no quotes), never user input."""
    return Response(csv_text(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
