"""What each change tells whom: subscribed to the lower features by `register()`."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select

from office import feeds
from office.accounts import rules as accounts
from office.booking import feeds as booking_feeds
from office.booking import rules as booking
from office.booking.models import OccurrenceState, Reservation, ReservationKind
from office.core.extensions import db
from office.core.mail import external_url
from office.meetings import rules as meetings
from office.meetings.models import MeetingSeries
from office.notifications.rules import footer, tell, when
from office.trepartssamtal import rules as trepartssamtal
from office.trepartssamtal.models import NEUTRAL_TITLE, MeetingMode, Trepartssamtal


def register() -> None:
    booking.on_change(booking_changed)
    trepartssamtal.on_change(trepartssamtal_changed)
    accounts.on_invitation(invitation_created)


# --- bookings (made for someone) and meeting occurrences --------------------------------------

def _reservation_events(reservation: Reservation) -> list[feeds.FeedEvent]:
    loaded = booking_feeds.load_reservations([reservation.id])
    return [e for row, occurrences in loaded
            for e in booking_feeds.reservation_events(row, occurrences)]


def _is_cancelled(reservation: Reservation) -> bool:
    return not any(o.state == OccurrenceState.active for o in reservation.occurrences)


def _first_active(reservation: Reservation, occurrence=None):
    if occurrence is not None:
        return occurrence
    active = [o for o in reservation.occurrences if o.state == OccurrenceState.active]
    return (active or list(reservation.occurrences) or [None])[0]


def booking_changed(action: str, reservation: Reservation, actor, occurrence=None, *,
                    successor: Reservation | None = None) -> None:
    if reservation.kind == ReservationKind.booking and action == "close_occurrence":
        _tell_closed(reservation, actor, occurrence)
    elif reservation.kind == ReservationKind.booking and successor is not None:
        _tell_split(reservation, successor, actor)
    elif reservation.kind == ReservationKind.booking:
        _tell_booked_for(action, reservation, actor, occurrence)
    elif reservation.kind == ReservationKind.meeting and action != "create":
        _tell_members(action, reservation, actor, occurrence)


def _tell_booked_for(action, reservation: Reservation, actor, occurrence) -> None:
    person = reservation.booked_for
    if person is None or (actor is not None and person.id == actor.id):
        return
    cancelled = _is_cancelled(reservation)
    first = _first_active(reservation, occurrence)
    place = f"{reservation.resource.name}, {reservation.resource.site.name}"
    link = external_url("bookings.show_reservation", reservation_id=reservation.id)

    def subject(locale):
        if action == "create":
            return _("Booked for you: %(title)s", title=reservation.title)
        if action.startswith("cancel") and (cancelled or occurrence is not None):
            return _("Cancelled: %(title)s", title=reservation.title)
        return _("Changed: %(title)s", title=reservation.title)

    def body(locale):
        who = actor.name if actor is not None else "Samlokal"
        if action == "create":
            text = _("%(who)s has booked %(place)s for you.", who=who, place=place)
        elif action.startswith("cancel"):
            text = _("%(who)s has cancelled the booking of %(place)s made for you.", who=who,
                     place=place)
        else:
            text = _("%(who)s has changed the booking of %(place)s made for you.", who=who,
                     place=place)
        if first is not None:
            text += "\n" + when(first.starts_at, first.ends_at, locale)
        if reservation.is_recurring:
            text += "\n" + _("The attached calendar file holds the whole series.")
        return text + (f"\n{link}" if link else "") + footer()

    tell(person, "booked_for", subject=subject, body=body, events=_reservation_events(reservation),
         method="CANCEL" if cancelled else "REQUEST", topic_ref=f"reservation:{reservation.id}")


def _tell_split(reservation: Reservation, successor: Reservation, actor) -> None:
    """"This and the following" changed: one mail whose .ics holds both series (the old one
    now ending, the new one going on). When nothing of the old series is left its UID must
    be cancelled and the new one requested: two iTIP methods, so two mails."""
    if _is_cancelled(reservation):
        _tell_booked_for("cancel_following", reservation, actor, None)
        _tell_booked_for("create", successor, actor, None)
        return
    person = successor.booked_for
    if person is None or (actor is not None and person.id == actor.id):
        return
    first = _first_active(successor)
    place = f"{successor.resource.name}, {successor.resource.site.name}"
    link = external_url("bookings.show_reservation", reservation_id=successor.id)

    def subject(locale):
        return _("Changed: %(title)s", title=successor.title)

    def body(locale):
        who = actor.name if actor is not None else "Samlokal"
        text = _("%(who)s has changed the booking of %(place)s made for you, from this "
                 "occasion on:", who=who, place=place)
        if first is not None:
            text += "\n" + when(first.starts_at, first.ends_at, locale)
        text += "\n" + _("The attached calendar file holds the series before and after the "
                         "change.")
        return text + (f"\n{link}" if link else "") + footer()

    tell(person, "booked_for", subject=subject, body=body,
         events=_reservation_events(reservation) + _reservation_events(successor),
         method="REQUEST", topic_ref=f"reservation:{successor.id}")


def _tell_closed(reservation: Reservation, actor, occurrence) -> None:
    """The premises close: the booker and the person booked for are told (not optional)."""
    people = {p.id: p for p in (reservation.booked_by, reservation.booked_for) if p is not None}
    place = f"{reservation.resource.name}, {reservation.resource.site.name}"
    events = _reservation_events(reservation)
    cancelled = _is_cancelled(reservation)

    def subject(locale):
        return _("Cancelled: %(title)s", title=reservation.title)

    def body(locale):
        return (_("The premises are closed, so your booking of %(place)s is cancelled.",
                  place=place)
                + "\n" + when(occurrence.starts_at, occurrence.ends_at, locale) + footer())

    for person in people.values():
        tell(person, "closure", subject=subject, body=body, events=events,
             method="CANCEL" if cancelled else "REQUEST", topic_ref=f"reservation:{reservation.id}")


def _members_on(series: MeetingSeries, reservation: Reservation, occurrence) -> list:
    """Everyone for a change of the whole series; for one meeting, those whose attendance
    pattern (every week, odd or even weeks, the extended session) brings them to that day."""
    if occurrence is None:
        return list(series.members)
    zone = ZoneInfo(reservation.timezone)
    days = [o.starts_at.astimezone(zone).date() for o in reservation.occurrences
            if o.state == OccurrenceState.active]
    day = occurrence.starts_at.astimezone(zone).date()
    extended = meetings.extended_days(days + [day])
    return [m for m in series.members if meetings.attends(m.attendance, day, extended)]


def _tell_members(action, reservation: Reservation, actor, occurrence) -> None:
    series = reservation.id and db.session.scalar(
        select(MeetingSeries).where(MeetingSeries.reservation_id == reservation.id))
    if not series:
        return
    events = _reservation_events(reservation)
    cancelled = action.startswith(("cancel", "close"))
    first = _first_active(reservation, occurrence)
    for member in _members_on(series, reservation, occurrence):
        user = member.user
        if user is None or (actor is not None and user.id == actor.id):
            continue
        uid = f"meeting-{reservation.id}-member-{member.id}"
        mine = [replace(e, uid=uid + e.uid[len(f"reservation-{reservation.id}"):]) for e in events]

        def subject(locale, name=series.name):
            if cancelled:
                return _("Cancelled: %(name)s", name=name)
            return _("Moved: %(name)s", name=name)

        def body(locale, name=series.name):
            if cancelled:
                text = _("A meeting of %(name)s is cancelled.", name=name)
            else:
                text = _("A meeting of %(name)s is moved.", name=name)
            if first is not None:
                label = _("Was") if cancelled else _("Now")
                text += f"\n{label}: " + when(first.starts_at, first.ends_at, locale)
            return text + footer()

        every_cancelled = _is_cancelled(reservation)
        tell(user, "meetings", subject=subject, body=body, events=mine,
             method="CANCEL" if every_cancelled else "REQUEST", topic_ref=f"meeting:{series.id}")


# --- trepartssamtal -----------------------------------------------------------------------------

def _place(meeting: Trepartssamtal, room) -> str:
    if meeting.mode == MeetingMode.on_site and room is not None:
        return ", ".join(p for p in (room.name, room.site.name, room.site.address) if p)
    return {MeetingMode.phone: _("By phone"), MeetingMode.video: _("Video meeting")}.get(
        meeting.mode, _("On site"))


def trepartssamtal_changed(action: str, meeting: Trepartssamtal, actor, room=None) -> None:
    """Participants get the neutral word, the time and the place: never the reference."""
    cancelled = action == "cancel"
    method = "CANCEL" if cancelled else "REQUEST"
    link = external_url("trepartssamtal.show_meeting", meeting_id=meeting.id)

    def event():
        return feeds.FeedEvent(
            uid=f"trepartssamtal-{meeting.id}", summary=NEUTRAL_TITLE,
            start=meeting.starts_at, end=meeting.ends_at,
            last_modified=meeting.updated_at, sequence=meeting.sequence or 0,
            created=meeting.created_at, location=_place(meeting, room), url=link,
            status="CANCELLED" if cancelled else "CONFIRMED", kind="trepartssamtal",
        )

    def subject(locale):
        moment = when(meeting.starts_at, meeting.ends_at, locale)
        if action == "create":
            return _("Trepartssamtal booked: %(when)s", when=moment)
        if action == "reschedule":
            return _("Trepartssamtal moved: %(when)s", when=moment)
        return _("Trepartssamtal cancelled: %(when)s", when=moment)

    def body(locale):
        moment = when(meeting.starts_at, meeting.ends_at, locale)
        lines = {
            "create": _("A trepartssamtal with you is booked."),
            "reschedule": _("A trepartssamtal with you is moved to a new time."),
        }.get(action, _("A trepartssamtal with you is cancelled."))
        text = f"{lines}\n{moment}\n{_place(meeting, room)}"
        if link:
            text += "\n" + _("Details (after logging in): %(url)s", url=link)
        return text + footer()

    for participant in meeting.participants:
        if participant.user is not None:
            tell(participant.user, "trepartssamtal", subject=subject, body=body, events=[event()],
                 method=method, topic_ref=f"trepartssamtal:{meeting.id}")


# --- invitations --------------------------------------------------------------------------------

def invitation_created(user, token: str, invited_by) -> None:
    from flask import current_app

    link = external_url("auth.accept_invitation", token=token)
    days = current_app.config["INVITATION_DAYS"]

    def subject(locale):
        return _("Your account in Samlokal")

    def body(locale):
        who = invited_by.name if invited_by is not None else "Samlokal"
        return _("Hello %(name)s,\n\n%(who)s has made an account for you in Samlokal, the booking "
                 "service of the shared office. Choose your password with this link (it works "
                 "once and expires in %(days)d days):\n\n%(link)s",
                 name=user.name, who=who, days=days, link=link)

    tell(user, "invitation", subject=subject, body=body, topic_ref=f"invitation:{user.id}")
