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
