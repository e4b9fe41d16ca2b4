"""Demo data for allocations and the meeting structure, relative to today's term.

Called at the end of office.demo.seed.seed_demo(): the terms of this year and the next, AF's
desks on odd weeks (the issue's example), the municipality's desks every week, and the three
meeting groups of Drivhuset, booked through office.booking.rules like any other booking.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from office.accounts.models import Agency, User
from office.allocations import rules as allocations
from office.allocations.models import WeekPattern
from office.booking import rules as booking
from office.core.extensions import db
from office.meetings import rules as meetings
from office.meetings.demo import (
    seed_case_counts,
    seed_steering_group_work,
    seed_working_group_guest,
)
from office.meetings.models import Attendance
from office.premises.models import Resource, Site


def _term_for(today: date):
    terms = allocations.ensure_terms(today.year) + allocations.ensure_terms(today.year + 1)
    for term in terms:
        if term.last_day >= today:
            return term
    return terms[-1]


def seed_allocations_and_meetings(today: date) -> None:
    term = _term_for(today)
    drivhuset = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
    coordinator = db.session.scalar(select(User).where(User.email == "anna.lind@drivhuset.example"))
    agency = {a.short_name: a for a in db.session.scalars(select(Agency))}
    resource = {r.name: r for r in db.session.scalars(
        select(Resource).where(Resource.site_id == drivhuset.id))}
    people = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}

    def allocate(short, names, weekdays, start, end, pattern=WeekPattern.every_week, note=""):
        allocations.create_allocations(allocations.AllocationSpec(
            agency=agency[short], resources=[resource[n] for n in names], weekdays=weekdays,
            start_time=start, end_time=end, first_day=term.first_day, last_day=term.last_day,
            pattern=pattern, term=term, note=note,
        ), coordinator, allocations.CoveredChoice.keep)

    # "AF: desks 1–2, Tuesdays and Thursdays 8–16, every other week (odd ISO weeks)".
    allocate("AF", ["Skrivbord 1", "Skrivbord 2"], [1, 3], time(8), time(16), WeekPattern.odd_weeks)
    allocate("AF", ["AF:s kontor"], [0, 1, 2, 3, 4], time(8), time(16, 30))
    allocate("Kommunen", ["Skrivbord 3", "Skrivbord 4", "Skrivbord 5", "Skrivbord 6"],
             [0, 1, 2, 3, 4], time(8), time(17))
    allocate("Klarframtid", ["Grupprummet"], [2], time(9), time(15))
    allocate("Klara", ["Samtalsrum 3"], [0, 3], time(9), time(12), WeekPattern.even_weeks)
    resource["AF:s kontor"].allocated_only = True

    _book_desks(today, term, coordinator, resource, people)

    room = resource["Konferensrummet"]
    # From the start of the term (the coordinator may book the past: history for reports);
    # the steering group runs through the next term too, so it always has meetings ahead.
    first_day = term.first_day
    following = allocations.next_term(term)
    every = Attendance.every_meeting
    steering = meetings.create_meeting_series(
        name="Styrgruppen", description="Förvaltningschefer, rektor, enhetschefer, ESF-delprojektledare",
        resource=room, first_day=first_day, start_time=time(13, 0), end_time=time(15, 0),
        rrule=meetings.twice_per_term_rule(term, 2, following.last_day), actor=coordinator,
        members=[(people[p], every) for p in ("anna.lind", "karin.nyberg", "lena.falk",
                                              "erik.holm", "amira.nasser", "fatima.ali")])
    seed_steering_group_work(steering, coordinator, people["karin.nyberg"], people["erik.holm"])
    working = meetings.create_meeting_series(
        name="Arbetsgruppen", description="Varje vecka; AF deltar varannan vecka (udda veckor)",
        resource=room, first_day=first_day, start_time=time(9, 0), end_time=time(10, 30),
        rrule=meetings.weekly_rule(1, following.last_day), actor=coordinator,
        members=[(people["anna.lind"], every), (people["lena.falk"], every),
                 (people["hanna.vik"], every), (people["karin.nyberg"], every),
                 (people["amira.nasser"], every), (people["fatima.ali"], every),
                 (people["erik.holm"], Attendance.odd_weeks)])
    seed_working_group_guest(working, people["sofia.gron"])
    case_workers = meetings.create_meeting_series(
        name="Handläggargruppen",
        description="Varje vecka; SYV, fysioterapeut och psykolog en gång i månaden",
        resource=room, first_day=first_day, start_time=time(13, 0), end_time=time(15, 0),
        rrule=meetings.weekly_rule(3, following.last_day), actor=coordinator,
        members=[(people[p], every) for p in ("hanna.vik", "sara.berg", "ali.yusuf",
                                              "emma.strand", "johan.bjork", "eva.lindqvist",
                                              "petra.aberg")]
        + [(people[p], Attendance.monthly) for p in ("nils.dahl", "oskar.lund", "maria.sund")])
    seed_case_counts(case_workers, [agency["AF"], agency["Kommunen"], agency["Klarframtid"]])


def _book_desks(today, term, coordinator, resource, people) -> None:
    """A few weeks of desk bookings around today, so the utilization report has figures."""
    monday = today - timedelta(days=today.weekday() + 14)
    plan = [("Skrivbord 3", "ali.yusuf", time(8), time(12)),
            ("Skrivbord 4", "emma.strand", time(9), time(16)),
            ("Skrivbord 1", "sara.berg", time(8), time(15)),
            ("AF:s kontor", "jonas.ek", time(9), time(12))]
    for offset in range(21):
        day = monday + timedelta(days=offset)
        if not term.first_day <= day <= term.last_day:
            continue
        for name, person, start, end in plan:
            try:
                booking.book(booking.BookingRequest(
                    resource=resource[name], title="Arbetsplats", first_day=day,
                    start_time=start, end_time=end, booked_by=coordinator,
                    booked_for=people[person]))
            except booking.BookingRefused:
                continue  # weekends, holidays, odd-week desks on even weeks
