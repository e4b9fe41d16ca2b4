"""Demo data for one steering-group meeting's work: the chair, an approved meeting with an open
action, and the next meeting's agenda with a member's proposal (called by the allocations demo)."""

from __future__ import annotations

from datetime import timedelta

from office.core.database import utcnow
from office.meetings import rules as meetings
from office.meetings.models import MeetingSeries


def seed_steering_group_work(series: MeetingSeries, coordinator, chair, member) -> None:
    series.chair = chair
    now = utcnow()
    occurrences = sorted((o for o in series.reservation.occurrences if o.is_active),
                         key=lambda o: o.starts_at)
    past = [o for o in occurrences if o.ends_at < now]
    coming = [o for o in occurrences if o.starts_at > now]
    if past:
        held = meetings.find_sitting(past[-1].id)
        meetings.add_agenda_item(held, coordinator, title="Uppföljning av handlingsplanen",
                                 owner=coordinator, minutes=30, now=now)
        meetings.save_minutes(held, notes="Gruppen gick igenom årets handlingsplan.",
                              decisions=["Lokala överenskommelsen förnyas före årsskiftet"],
                              shared=True)
        meetings.add_action(held, text="Skicka förslaget till överenskommelse till parterna",
                            owner=chair, due_on=(now + timedelta(days=14)).date())
        meetings.approve_minutes(held, coordinator, now)
    if coming:
        sitting = meetings.find_sitting(coming[0].id)
        for title, owner, minutes in (("Läget i Drivhuset", coordinator, 20),
                                      ("Halvårsrapporten till samordningsförbundet", chair, 30),
                                      ("Kvalitetsgranskningen av planer", member, 15)):
            meetings.add_agenda_item(sitting, coordinator, title=title, owner=owner,
                                     minutes=minutes, now=now)
        meetings.add_agenda_item(sitting, member, title="Nya lokaler för SFI", owner=member,
                                 minutes=10, now=coming[0].starts_at - timedelta(days=30))


def seed_case_counts(series: MeetingSeries, agencies: list) -> None:
    """The case workers' group counts cases: the past eight weeks' meetings get made-up counts
    (the same every time), so the reports have figures (some small enough to be suppressed)."""
    from office.core.database import utcnow
    from office.meetings.models import Gender

    series.counts_cases = True
    now = utcnow()
    past = [o for o in series.reservation.occurrences
            if o.is_active and now - timedelta(weeks=8) < o.ends_at < now]
    for week, occurrence in enumerate(sorted(past, key=lambda o: o.starts_at)):
        sitting = meetings.find_sitting(occurrence.id)
        counts = {}
        for n, agency in enumerate(agencies):
            counts[(agency.id, Gender.women)] = (3 * n + 5 * week + 7) % 11
            counts[(agency.id, Gender.men)] = (2 * n + 3 * week + 4) % 9
            counts[(agency.id, Gender.unknown)] = (n + week) % 3
        meetings.record_cases(sitting, counts)


def seed_working_group_guest(series: MeetingSeries, guest) -> None:
    """The Region's coordinator joins the working group's next meeting "vid behov": a guest."""
    now = utcnow()
    coming = sorted((o for o in series.reservation.occurrences if o.is_active and o.starts_at > now),
                    key=lambda o: o.starts_at)
    if coming:
        meetings.add_guest(meetings.find_sitting(coming[0].id), user=guest, name="",
                           organisation="", email="")
