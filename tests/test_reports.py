"""Counts for the half-year report: the case workers' group's cases per agency and gender, and
trepartssamtal, per agency and month or week; 1-4 shown as "<5" on the page, in the CSV and
in the printable report."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from office.accounts.models import Role
from office.core.export import suppressed
from office.core.extensions import db
from office.meetings import rules as meetings
from office.meetings.models import Attendance, CaseCount, Gender
from office.trepartssamtal.models import (
    MeetingMode,
    MeetingStatus,
    Trepartssamtal,
    TrepartssamtalParticipant,
)

pytestmark = pytest.mark.clock("2027-03-01T09:00+01:00")
PERIOD = "?from=2027-01-01&to=2027-06-30"


@pytest.fixture
def world(create_user, create_agency, create_site, create_resource):
    af, kommunen = create_agency(short_name="AF"), create_agency(short_name="Kommunen")
    coordinator = create_user(role=Role.coordinator, agency=af)
    admin = create_user(role=Role.agency_admin, agency=af)
    case_worker = create_user(agency=af, name="Sara Berg")
    coach = create_user(agency=kommunen)
    room = create_resource(site=create_site(opens=time(7), closes=time(18)))
    series = meetings.create_meeting_series(
        name="Handläggargruppen", resource=room, first_day=date(2027, 1, 7), start_time=time(13),
        end_time=time(15), rrule=meetings.weekly_rule(3, date(2027, 3, 25)),
        members=[(case_worker, Attendance.every_meeting)], actor=coordinator)
    series.counts_cases = True
    db.session.commit()
    occurrences = sorted(series.reservation.occurrences, key=lambda o: o.starts_at)
    return {"af": af, "kommunen": kommunen, "coordinator": coordinator, "admin": admin,
            "case_worker": case_worker, "coach": coach, "series": series,
            "january": occurrences[0].id, "february": occurrences[5].id}


def record(auth, occurrence_id, counts: dict) -> object:
    data = {f"cases-{agency.id}-{gender}": str(n) for (agency, gender), n in counts.items()}
    return auth.post(f"/meetings/occurrences/{occurrence_id}/cases", data)


def add_trepartssamtal(day: date, agencies, status=MeetingStatus.held):
    starts = datetime.combine(day, time(9), timezone.utc)
    meeting = Trepartssamtal(mode=MeetingMode.phone, status=status, starts_at=starts,
                             ends_at=starts + timedelta(hours=1))
    db.session.add(meeting)
    db.session.flush()
    for agency in agencies:
        db.session.add(TrepartssamtalParticipant(trepartssamtal_id=meeting.id, agency_id=agency.id))
    db.session.commit()


def test_small_counts_are_suppressed_and_others_shown():
    assert [suppressed(n) for n in (0, 1, 4, 5, 37)] == [0, "<5", "<5", 5, 37]


def test_a_member_records_the_cases_a_meeting_raised_per_agency_and_gender(auth, world):
    auth.login(world["case_worker"])
    response = record(auth, world["january"], {(world["af"], "women"): 7, (world["kommunen"], "men"): 2,
                                               (world["af"], "unknown"): 0})
    assert response.status_code == 302
    stored = {(c.agency_id, c.gender, c.cases) for c in db.session.scalars(select(CaseCount))}
    assert stored == {(world["af"].id, Gender.women, 7), (world["kommunen"].id, Gender.men, 2)}
    page = auth.client.get(f"/meetings/occurrences/{world['january']}").get_data(as_text=True)
    assert 'value="7"' in page  # the form shows what was recorded


def test_a_count_out_of_range_is_refused_and_nothing_is_saved(auth, world):
    auth.login(world["case_worker"])
    response = record(auth, world["january"], {(world["af"], "women"): -1, (world["af"], "men"): 3})
    assert response.status_code == 422
    assert 'value="3"' in response.get_data(as_text=True)  # the form keeps what was typed
    assert db.session.scalar(select(CaseCount.id)) is None


def test_someone_outside_the_group_may_not_record_cases(auth, world):
    auth.login(world["coach"])
    assert record(auth, world["january"], {(world["af"], "women"): 3}).status_code == 403
    assert db.session.scalar(select(CaseCount.id)) is None


def test_the_statistics_page_shows_agency_by_month_with_small_counts_suppressed(auth, world):
    auth.login(world["case_worker"])
    record(auth, world["january"], {(world["af"], "women"): 7, (world["kommunen"], "men"): 2})
    record(auth, world["february"], {(world["af"], "men"): 3})
    auth.logout()
    add_trepartssamtal(date(2027, 1, 12), [world["af"], world["kommunen"]])
    add_trepartssamtal(date(2027, 1, 19), [world["af"], world["kommunen"]], MeetingStatus.cancelled_by_staff)
    auth.login(world["admin"])
    page = auth.client.get("/reports/" + PERIOD).get_data(as_text=True)
    assert "visas som “&lt;5”" in page  # the note saying why
    cases = page.split("<caption>Ärenden per aktör och månad")[1].split("</table>")[0]
    assert "<td>7</td>" in cases and "<td>&lt;5</td>" in cases
    assert "<td>2</td>" not in cases and "<td>3</td>" not in cases
    csv = auth.client.get("/reports/statistics.csv" + PERIOD + "&table=cases").get_data(as_text=True)
    lines = csv.lstrip("\ufeff").splitlines()
    assert lines[0] == "Aktör;2027-01;2027-02;2027-03;2027-04;2027-05;2027-06"
    assert lines[1] == "AF;7;<5;0;0;0;0" and lines[2] == "Kommunen;<5;0;0;0;0;0"
    gender = auth.client.get("/reports/statistics.csv" + PERIOD + "&table=gender").get_data(as_text=True)
    assert "AF;<5;7;0;0" in gender.replace("\r", "").splitlines()[1:][0] or "AF;7;<5;0;0" in gender
    treparts = auth.client.get("/reports/statistics.csv" + PERIOD + "&table=trepartssamtal&by=week")
    rows = treparts.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert rows[0].startswith("Aktör;2026-W53;2027-W01;2027-W02;2027-W03")
    assert rows[1].split(";")[:5] == ["AF", "0", "0", "<5", "0"]  # the cancelled one is left out


def test_the_charts_show_small_counts_as_under_five_at_one_height(auth, world):
    auth.login(world["case_worker"])
    record(auth, world["january"], {(world["af"], "women"): 12, (world["kommunen"], "men"): 2})
    record(auth, world["february"], {(world["af"], "men"): 3, (world["kommunen"], "women"): 1})
    auth.logout()
    auth.login(world["coordinator"])
    for path in ("/reports/" + PERIOD, "/reports/half-year" + PERIOD):
        page = auth.client.get(path).get_data(as_text=True)
        chart = page.split('<figure class="report-chart">')[1].split("</figure>")[0]
        assert 'aria-label="AF: 2027-01 12, 2027-02 &lt;5, 2027-03 0' in chart
        assert 'aria-label="Kommunen: 2027-01 &lt;5, 2027-02 &lt;5, 2027-03 0' in chart
        values = re.findall(r'class="chart-value">([^<]*)<', chart)
        assert set(values) == {"0", "12", "&lt;5"}  # 1, 2 and 3 are never drawn
        small = re.findall(r'<rect [^>]*height="([\d.]+)" fill="url\(#small-', chart)
        assert len(small) == 3 and len(set(small)) == 1  # 1, 2 and 3 drawn alike
        assert "jan." in chart and "feb." in chart  # the months' short names under the bars


def test_the_half_year_report_suppresses_small_counts_and_prints(auth, world):
    auth.login(world["case_worker"])
    record(auth, world["january"], {(world["af"], "women"): 12, (world["af"], "other"): 1})
    auth.logout()
    auth.login(world["coordinator"])
    response = auth.client.get("/reports/half-year")  # the current half-year by default
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Halvårsrapport: 1 januari 2027 – 30 juni 2027" in page
    by_month = page.split("<caption>Ärenden per aktör och månad")[1].split("</table>")[0]
    by_gender = page.split("<caption>Ärenden per aktör och kön")[1].split("</table>")[0]
    assert "<td>13</td>" in by_month
    assert "<td>12</td>" in by_gender and "<td>&lt;5</td>" in by_gender and "<td>1</td>" not in page
    assert "Summa" not in page  # no totals next to suppressed cells


@pytest.mark.parametrize("query", ["?from=2027-13-01", "?from=2027-06-01&to=2027-01-01", "?by=day",
                                   "?from=1999-01-01&to=1999-02-01", "?table=people"])
def test_bad_periods_are_refused(auth, world, query):
    auth.login(world["coordinator"])
    assert auth.client.get("/reports/statistics.csv" + query).status_code == 400


def test_staff_may_not_see_the_reports(auth, world):
    auth.login(world["case_worker"])
    assert auth.client.get("/reports/").status_code == 403
    assert auth.client.get("/reports/half-year").status_code == 403
