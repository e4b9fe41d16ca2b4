"""Guests for one meeting (a colleague or an outside guest): the notice and an .ics, shown on
that meeting only, staff guests busy for trepartssamtal proposals; series every six months
and once a year."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
from dateutil.rrule import rrulestr
from sqlalchemy import func, select

from office.accounts.models import Role
from office.availability import rules as availability
from office.core.extensions import db
from office.core.models import OutboxMail
from office.meetings import rules as meetings
from office.meetings.models import Attendance, MeetingGuest

pytestmark = pytest.mark.clock("2027-01-11T08:00+01:00")


@pytest.fixture
def group(create_user, create_agency, create_site, create_resource):
    """The working group, Tuesdays 9-10:30 from 12 January."""
    room = create_resource(site=create_site(opens=time(7), closes=time(18)), name="Konferensrummet")
    coordinator = create_user(role=Role.coordinator, name="Anna Lind")
    member = create_user(name="Lena Falk")
    region = create_user(agency=create_agency(short_name="Regionen"), name="Sofia Grön")
    series = meetings.create_meeting_series(
        name="Arbetsgruppen", resource=room, first_day=date(2027, 1, 12), start_time=time(9),
        end_time=time(10, 30), rrule=meetings.weekly_rule(1, date(2027, 3, 30)),
        members=[(member, Attendance.every_meeting)], actor=coordinator)
    db.session.commit()
    first, second = sorted(series.reservation.occurrences, key=lambda o: o.starts_at)[:2]
    return {"coordinator": coordinator, "member": member, "region": region, "first": first.id,
            "second": second.id}


def notices() -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "meeting_notice")
                                   .order_by(OutboxMail.id)))


def test_an_outside_guest_invited_after_the_notice_gets_it_with_the_calendar_file(auth, group):
    auth.login(group["coordinator"])
    path = f"/meetings/occurrences/{group['first']}"
    auth.post(path + "/notice")
    assert [m.recipient for m in notices()] == [group["member"].email]
    response = auth.post(path + "/guests", {"guest-user_id": "0", "guest-name": "Rut Rådgivare",
                                            "guest-organisation": "Samordningsförbundet RAR",
                                            "guest-email": "rut@rar.example"}, follow_redirects=True)
    assert "Rut Rådgivare är inbjuden och har fått kallelsen." in response.get_data(as_text=True)
    mail = notices()[-1]
    assert mail.recipient == "rut@rar.example" and "Hej Rut Rådgivare" in mail.body
    assert mail.ics and "BEGIN:VEVENT" in mail.ics and mail.ics_method == "PUBLISH"
    # On that meeting only.
    assert "Rut Rådgivare" in auth.client.get(path).get_data(as_text=True)
    assert "Rut Rådgivare" not in auth.client.get(f"/meetings/occurrences/{group['second']}").get_data(as_text=True)


def test_a_colleague_invited_before_the_notice_gets_it_with_the_members_and_may_open_that_meeting(
        auth, group):
    auth.login(group["coordinator"])
    path = f"/meetings/occurrences/{group['first']}"
    assert auth.post(path + "/guests", {"guest-user_id": str(group["region"].id)}).status_code == 302
    assert notices() == []  # no notice yet: the guest gets it with the members
    auth.post(path + "/notice")
    assert sorted(m.recipient for m in notices()) == sorted([group["member"].email, group["region"].email])
    auth.logout()
    auth.login(group["region"])
    assert auth.client.get(path).status_code == 200
    assert auth.client.get(f"/meetings/occurrences/{group['second']}").status_code == 403


def test_a_staff_guest_is_busy_for_trepartssamtal_proposals(auth, group):
    auth.login(group["coordinator"])
    auth.post(f"/meetings/occurrences/{group['first']}/guests", {"guest-user_id": str(group["region"].id)})
    day_start = datetime(2027, 1, 12, 0, tzinfo=timezone.utc)
    day_end = datetime(2027, 1, 13, 0, tzinfo=timezone.utc)
    busy = [(user, start, end) for source in availability.busy_sources()
            for user, start, end in source([group["region"].id], day_start, day_end)]
    assert busy == [(group["region"].id, datetime(2027, 1, 12, 8, tzinfo=timezone.utc),
                     datetime(2027, 1, 12, 9, 30, tzinfo=timezone.utc))]


@pytest.mark.parametrize("data, status, message", [
    ({"guest-user_id": "0", "guest-name": "Utan adress"}, 422, "Välj en kollega, eller ange gästens namn och e-postadress."),
    ({"guest-user_id": "0", "guest-name": "Fel", "guest-email": "inte-en-adress"}, 422, "giltig e-postadress"),
    ({"guest-user_id": "0", "guest-name": "Ärende 19811218-9876", "guest-email": "a@b.example"}, 422, "personnummer"),
])
def test_a_guest_without_what_is_needed_is_refused_and_nothing_is_saved(auth, group, data, status, message):
    auth.login(group["coordinator"])
    response = auth.post(f"/meetings/occurrences/{group['first']}/guests", data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(MeetingGuest)) == 0


def test_a_member_or_a_guest_twice_is_refused(auth, group):
    auth.login(group["coordinator"])
    path = f"/meetings/occurrences/{group['first']}/guests"
    refused = auth.post(path, {"guest-user_id": str(group["member"].id)})
    assert refused.status_code == 409 and "Personen är redan medlem" in refused.get_data(as_text=True)
    auth.post(path, {"guest-user_id": "0", "guest-name": "Rut", "guest-email": "rut@rar.example"})
    again = auth.post(path, {"guest-user_id": "0", "guest-name": "Rut R", "guest-email": "RUT@rar.example"})
    assert again.status_code == 409 and 'value="Rut R"' in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(MeetingGuest)) == 1


def test_members_may_not_invite_guests(auth, group):
    auth.login(group["member"])
    assert auth.post(f"/meetings/occurrences/{group['first']}/guests",
                     {"guest-user_id": "0", "guest-name": "X", "guest-email": "x@y.example"}).status_code == 403


def test_the_reference_group_meets_every_six_months_and_the_forum_once_a_year():
    start = datetime(2027, 2, 1)
    six = rrulestr(meetings.every_six_months_rule(date(2027, 2, 1), weekday=2), dtstart=start)
    assert [d.date() for d in six][:4] == [date(2027, 2, 10), date(2027, 8, 11), date(2028, 2, 9),
                                           date(2028, 8, 9)]
    yearly = rrulestr(meetings.yearly_rule(date(2027, 2, 1), weekday=2), dtstart=start)
    assert [d.date() for d in yearly] == [date(2027, 2, 10), date(2028, 2, 9), date(2029, 2, 14)]
