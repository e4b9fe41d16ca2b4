"""Counts for the half-year report: the statistics page, its CSV files and a printable report."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from office.accounts.models import Role
from office.core import export
from office.core.forms import SENSIBLE_YEARS
from office.core.i18n import today_local
from office.core.security import roles_required
from office.core.templating import add_nav_item
from office.meetings.forms import GENDER_LABELS
from office.meetings.models import Gender
from office.reports import rules as reports

bp = Blueprint("reports", __name__, url_prefix="/reports")
bp.add_app_template_filter(reports.bars, "report_bars")
TABLES = ("cases", "gender", "trepartssamtal")
GROUPING_LABELS = {"month": _l("Month"), "week": _l("Week")}


def _period() -> tuple[date, date]:
    """?from=&to= (ISO dates), by default the current half-year; 400 Bad Request otherwise."""
    default_first, default_last = reports.half_year(today_local())
    try:
        first = date.fromisoformat(request.args["from"]) if request.args.get("from") else default_first
        last = date.fromisoformat(request.args["to"]) if request.args.get("to") else default_last
    except ValueError:
        abort(400)
    sensible = SENSIBLE_YEARS[0] <= first.year and last.year <= SENSIBLE_YEARS[1]
    if last < first or (last - first).days > 2 * 366 or not sensible:
        abort(400)
    return first, last


def _grouping() -> str:
    by = request.args.get("by", "month")
    if by not in reports.GROUPINGS:
        abort(400)
    return by


def _tables(first: date, last: date, by: str) -> dict:
    return {"cases": reports.cases_table(first, last, by),
            "gender": reports.cases_by_gender(first, last),
            "trepartssamtal": reports.trepartssamtal_table(first, last, by)}


@bp.app_template_filter("report_column")
def column_label(key: str) -> str:
    """A chart's short label under a bar: "jul." for 2026-07, "v. 3" for 2026-W03."""
    year, part = key.split("-", 1)
    if part.startswith("W"):
        return _("w. %(week)d", week=int(part[1:]))
    return format_date(date(int(year), int(part), 1), "LLL")


def _gender_columns() -> dict[str, str]:
    return {g.value: str(GENDER_LABELS[g]) for g in Gender}


@bp.get("/")
@roles_required(Role.coordinator, Role.agency_admin)
def statistics():
    """Cases and trepartssamtal per agency and month or week; small counts shown as <5."""
    first, last = _period()
    by = _grouping()
    return render_template("reports/statistics.html", first=first, last=last, by=by,
                           tables=_tables(first, last, by), grouping_labels=GROUPING_LABELS,
                           gender_columns=_gender_columns())


@bp.get("/statistics.csv")
@roles_required(Role.coordinator, Role.agency_admin)
def export_statistics():
    """One of the page's tables as CSV, small counts suppressed as on the page."""
    first, last = _period()
    by = _grouping()
    which = request.args.get("table", "cases")
    if which not in TABLES:
        abort(400)
    table = _tables(first, last, by)[which]
    columns = ([_gender_columns()[c] for c in table.columns] if which == "gender" else table.columns)
    rows = [[agency, *(export.suppressed(n) for n in counts)] for agency, counts in table.rows]
    filename = f"{which}-{by}-{first.isoformat()}-{last.isoformat()}.csv"
    return export.csv_response(filename, [_("Agency"), *columns], rows)


@bp.get("/half-year")
@roles_required(Role.coordinator, Role.agency_admin)
def half_year_report():
    """A printable report for the steering group: the period's tables per month."""
    first, last = _period()
    return render_template("reports/half_year.html", first=first, last=last,
                           tables=_tables(first, last, "month"), gender_columns=_gender_columns())


add_nav_item("reports.statistics", _l("Reports"), (Role.coordinator, Role.agency_admin),
             description=_l("Cases and trepartssamtal per agency and month, and the half-year report."))
