"""One meeting's work: the agenda (prepared by the coordinator and the chair, proposed by
members until a deadline), the notice with an .ics, minutes approved before members see them,
and open actions carried over to the next meeting."""

from __future__ import annotations

from datetime import date, time

import icalendar
import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.core.extensions import db
from office.core.models import OutboxMail
from office.meetings import rules as meetings
from office.meetings.models import (
    AgendaItem,
    Attendance,
    MeetingAction,
    MeetingOccurrence,
    MeetingSeries,
    MinutesStatus,
)

# Monday 11 January 2027: the steering group meets on the Tuesdays that follow.
pytestmark = pytest.mark.clock("2027-01-11T08:00+01:00")


@pytest.fixture
def group(create_user, create_site, create_resource):
    """A weekly steering group (Tuesdays 13-15 from 12 January): a coordinator, a chair, a member."""
    room = create_resource(site=create_site(opens=time(7), closes=time(18)), name="Konferensrummet",
                           capacity=12)
    coordinator = create_user(role=Role.coordinator, name="Anna Lind")
    chair = create_user(name="Karin Nyberg")
    member = create_user(name="Erik Holm")
    outsider = create_user(name="Olle Utanför")
    series = meetings.create_meeting_series(
        name="Styrgruppen", resource=room, first_day=date(2027, 1, 12), start_time=time(13),
        end_time=time(15), rrule=meetings.weekly_rule(1, date(2027, 3, 30)),
        members=[(chair, Attendance.every_meeting), (member, Attendance.every_meeting)],
        actor=coordinator)
    series.chair = chair
    db.session.commit()
    first, second, third = sorted(series.reservation.occurrences, key=lambda o: o.starts_at)[:3]
    return {"coordinator": coordinator, "chair": chair, "member": member, "outsider": outsider,
            "series": series, "first": first.id, "second": second.id, "third": third.id}


def page(id_: int) -> str:
    return f"/meetings/occurrences/{id_}"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_steering_group_meeting_from_notice_to_approved_minutes_with_an_action_carried_over(
        auth, group):
    first, second = group["second"], group["third"]  # 19 and 26 January: open for proposals
    # The chair prepares the agenda; a member proposes an item; the coordinator accepts it.
    auth.login(group["chair"])
    assert auth.post(page(first) + "/items", {"item-title": "Lokalöverenskommelsen", "item-owner_id":
                                              str(group["coordinator"].id), "item-minutes": "20"}
                     ).status_code == 302
    auth.logout()
    auth.login(group["member"])
    response = auth.post(page(first) + "/items", {"item-title": "Halvårsrapporten", "item-owner_id": "0"},
                         follow_redirects=True)
    assert "Förslaget är skickat" in response.get_data(as_text=True)
    proposal = db.session.scalar(select(AgendaItem).where(AgendaItem.proposed.is_(True)))
    assert proposal.proposed_by_id == group["member"].id
    auth.logout()
    auth.login(group["coordinator"])
    assert auth.post(page(first) + f"/items/{proposal.id}/accept").status_code == 302
    # The notice: one mail per attendee, with the agenda and a calendar file.
    assert auth.post(page(first) + "/notice").status_code == 302
    mails = list(db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "meeting_notice")))
    assert sorted(m.recipient for m in mails) == sorted([group["chair"].email, group["member"].email])
    body = mails[0].body
    assert "1. Lokalöverenskommelsen (Anna Lind, 20 min)" in body
    assert "2. Halvårsrapporten" in body
    assert "tisdag 19 januari 2027 13:00–15:00" in body
    event = icalendar.Calendar.from_ical(mails[0].ics).walk("VEVENT")[0]
    assert mails[0].ics_method == "PUBLISH" and str(event["summary"]) == "Styrgruppen"
    assert event.decoded("dtstart").astimezone().hour == 12  # 13:00 in Stockholm, UTC+1
    # Minutes with a decision and an action; members see nothing until they are approved.
    assert auth.post(page(first) + "/minutes", {
        "minutes-notes": "Genomgång av läget.", "minutes-decisions": "Förnya överenskommelsen\n\nRapport i juni",
    }).status_code == 302
    assert auth.post(page(first) + "/actions", {
        "action-text": "Skicka utkastet till parterna", "action-owner_id": str(group["chair"].id),
        "action-due_on": "2027-01-29"}).status_code == 302
    auth.logout()
    auth.login(group["member"])
    draft = auth.client.get(page(first)).get_data(as_text=True)
    assert "Genomgång av läget." not in draft and "Skicka utkastet" not in draft
    auth.logout()
    auth.login(group["chair"])
    assert auth.post(page(first) + "/approve").status_code == 302
    auth.logout()
    auth.login(group["member"])
    approved = auth.client.get(page(first)).get_data(as_text=True)
    assert "Genomgång av läget." in approved and "Rapport i juni" in approved
    assert "Skicka utkastet till parterna" in approved
    # The open action comes back on the next meeting's agenda (and in its notice) until done.
    following = auth.client.get(page(second)).get_data(as_text=True)
    assert "Öppna uppgifter från tidigare möten" in following
    assert "Skicka utkastet till parterna" in following
    auth.logout()
    auth.login(group["chair"])
    auth.post(page(second) + "/notice")
    notice = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc())).first()
    assert "- Skicka utkastet till parterna – Karin Nyberg" in notice.body
    action = db.session.scalar(select(MeetingAction))
    assert auth.post(page(second) + f"/actions/{action.id}/done").status_code == 302
    assert "Skicka utkastet" not in auth.client.get(page(second)).get_data(as_text=True)


def test_a_proposal_after_the_deadline_is_refused_in_swedish_and_keeps_what_was_typed(auth, group):
    # The first meeting is tomorrow 13:00; members may propose until two days before.
    auth.login(group["member"])
    response = auth.post(page(group["first"]) + "/items", {"item-title": "Sent förslag", "item-owner_id": "0"})
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Tiden för att föreslå punkter till det här mötet har gått ut." in text
    assert count(AgendaItem) == 0 and count(MeetingOccurrence) == 0
    # A later meeting is still open for proposals.
    assert auth.post(page(group["second"]) + "/items",
                     {"item-title": "I tid", "item-owner_id": "0"}).status_code == 302


def test_a_personal_identity_number_in_the_minutes_is_refused_and_not_shown_again(auth, group):
    auth.login(group["coordinator"])
    response = auth.post(page(group["first"]) + "/minutes", {
        "minutes-notes": "Ärendet 19811218-9876 togs upp.", "minutes-decisions": "Inget beslut"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "personnummer" in text.lower() and "19811218-9876" not in text
    assert "Inget beslut" in text  # the rest of the form is kept
    assert count(MeetingOccurrence) == 0


def test_the_minutes_form_says_that_minutes_name_no_client(auth, group):
    auth.login(group["chair"])
    text = auth.client.get(page(group["first"])).get_data(as_text=True)
    assert "Minnesanteckningar namnger ingen enskild klient" in text


def test_approved_minutes_cannot_be_changed(auth, group):
    auth.login(group["coordinator"])
    auth.post(page(group["first"]) + "/minutes", {"minutes-notes": "Första versionen"})
    auth.post(page(group["first"]) + "/approve")
    response = auth.post(page(group["first"]) + "/minutes", {"minutes-notes": "Ändrad i efterhand"})
    assert response.status_code == 409
    assert "Ändrad i efterhand" in response.get_data(as_text=True)  # kept in the form
    assert db.session.get(MeetingOccurrence, group["first"]).minutes_notes == "Första versionen"


def test_approving_empty_minutes_is_refused(auth, group):
    auth.login(group["coordinator"])
    assert auth.post(page(group["first"]) + "/approve").status_code == 422
    assert count(MeetingOccurrence) == 0


def test_only_members_read_the_agenda_and_only_preparers_change_it(auth, group):
    auth.login(group["outsider"])
    assert auth.client.get(page(group["first"])).status_code == 403
    assert auth.post(page(group["first"]) + "/items", {"item-title": "x", "item-owner_id": "0"}).status_code == 403
    auth.logout()
    auth.login(group["member"])
    assert auth.client.get(page(group["first"])).status_code == 200
    for path in ("/notice", "/approve", "/minutes", "/actions"):
        assert auth.post(page(group["first"]) + path).status_code == 403, path
    assert count(OutboxMail) == 0 and count(MeetingOccurrence) == 0


def test_shared_approved_minutes_are_open_to_all_staff(auth, group):
    auth.login(group["coordinator"])
    auth.post(page(group["first"]) + "/minutes", {"minutes-notes": "För alla", "minutes-shared_with_staff": "y"})
    auth.post(page(group["first"]) + "/approve")
    auth.logout()
    auth.login(group["outsider"])
    response = auth.client.get(page(group["first"]))
    assert response.status_code == 200 and "För alla" in response.get_data(as_text=True)
    assert "Dagordning" not in response.get_data(as_text=True)  # the minutes only


def test_not_a_meeting_occurrence_is_404(auth, group, create_resource):
    auth.login(group["coordinator"])
    assert auth.client.get(page(999_999)).status_code == 404


def test_the_coordinator_names_the_chair(auth, group):
    auth.login(group["coordinator"])
    series = group["series"]
    response = auth.post(f"/meetings/series/{series.id}/settings",
                         {"settings-chair_id": str(group["member"].id), "settings-proposal_days": "5"})
    assert response.status_code == 302
    db.session.expire_all()
    series = db.session.get(MeetingSeries, series.id)
    assert series.chair_id == group["member"].id and series.proposal_days == 5
    refused = auth.post(f"/meetings/series/{series.id}/settings",
                        {"settings-chair_id": str(group["outsider"].id), "settings-proposal_days": "5"})
    assert refused.status_code == 422
    assert db.session.get(MeetingSeries, series.id).chair_id == group["member"].id
    assert MinutesStatus.draft  # the enum exists for the minutes' state


def _notice_uids(kind="meeting_notice") -> list[str]:
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == kind).order_by(OutboxMail.id))
    return [str(icalendar.Calendar.from_ical(m.ics).walk("VEVENT")[0]["uid"]) for m in mails]


def test_the_notice_uid_is_stable_per_occurrence_and_never_a_series_uid(auth, client, group):
    from office import feeds

    auth.login(group["coordinator"])
    assert auth.post(page(group["second"]) + "/notice").status_code == 302
    assert auth.post(page(group["second"]) + "/items", {"item-title": "Budget", "item-owner_id": "0"}
                     ).status_code == 302
    assert auth.post(page(group["second"]) + "/notice").status_code == 302  # sent again
    assert auth.post(page(group["third"]) + "/notice").status_code == 302
    uids = _notice_uids()
    assert len(uids) == 6  # chair and member, three notices
    second, again, third = set(uids[:2]), set(uids[2:4]), set(uids[4:])
    assert len(second) == 1 and second == again  # one UID per occurrence, whoever gets it
    assert len(third) == 1 and third != second
    # The member's personal feed: the series (and moved meetings) under other UIDs, so adding
    # the notice neither doubles nor replaces the series in a client that has both.
    token = feeds.issue_token(group["member"], "personal")
    db.session.commit()
    feed = icalendar.Calendar.from_ical(client.get(f"/feeds/{token}.ics").get_data())
    feed_uids = {str(e["uid"]) for e in feed.walk("VEVENT")}
    assert any(u.startswith(f"meeting-{group['series'].reservation_id}-member-") for u in feed_uids)
    assert not feed_uids & (second | third)
