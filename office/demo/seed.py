"""Drivhuset in Oxelösund as demo data (see shared/DOMAIN.md)."""

from __future__ import annotations

from datetime import time

import click
from sqlalchemy import select

from office.accounts import rules as accounts
from office.accounts.models import Agency, Role, Unit, User
from office.core.extensions import db
from office.premises.models import OpeningHours, Resource, ResourceKind, Site
from office.premises.rules import set_standard_opening_hours

DEMO_PASSWORD = "drivhuset-demo"

# Features that add demo data (e.g. seminars) register a step here; office imports none of them.
_DEMO_STEPS: list = []


def add_demo_step(step) -> None:
    """Run `step()` after the ground floor's demo data is in place (seed-demo)."""
    if step not in _DEMO_STEPS:
        _DEMO_STEPS.append(step)

AGENCIES = [
    # name, short name, colour (dark enough for white text), units
    ("Oxelösunds kommun", "Kommunen", "#1f5f8b",
     ["Arbetsmarknadsenheten", "Ekonomiskt bistånd", "Campus Oxelösund",
      "Social omsorgsförvaltningen", "Utbildningsförvaltningen"]),
    ("Arbetsförmedlingen", "AF", "#7a2e8c", []),
    ("Region Sörmland", "Regionen", "#a63a1c", ["Vårdcentralen", "TRIS"]),
    ("Försäkringskassan", "FK", "#2d6a2d", []),
    ("#klarframtid (ESF)", "Klarframtid", "#8a5a00", []),
    ("Klara (ESF)", "Klara", "#b0306a", []),
    ("Samordningsförbundet RAR", "RAR", "#3d4f5c", []),
]

# name, e-mail local part, agency short name, unit or None, title, role
STAFF = [
    ("Anna Lind", "anna.lind", "RAR", None, "Projektledare Drivhuset", Role.coordinator),
    ("Erik Holm", "erik.holm", "AF", None, "Sektionschef", Role.agency_admin),
    ("Sara Berg", "sara.berg", "AF", None, "Handläggare", Role.staff),
    ("Jonas Ek", "jonas.ek", "AF", None, "Handläggare", Role.staff),
    ("Leila Haddad", "leila.haddad", "AF", None, "Handläggare", Role.staff),
    ("Maria Sund", "maria.sund", "AF", None, "Psykolog", Role.staff),
    ("Oskar Lund", "oskar.lund", "AF", None, "Fysioterapeut", Role.staff),
    ("Karin Nyberg", "karin.nyberg", "Kommunen", "Arbetsmarknadsenheten", "Enhetschef", Role.agency_admin),
    ("Ali Yusuf", "ali.yusuf", "Kommunen", "Arbetsmarknadsenheten", "Jobbcoach", Role.staff),
    ("Emma Strand", "emma.strand", "Kommunen", "Arbetsmarknadsenheten", "Jobbcoach", Role.staff),
    ("Petra Åberg", "petra.aberg", "Kommunen", "Ekonomiskt bistånd", "Socialsekreterare", Role.staff),
    ("Mikael Öst", "mikael.ost", "Kommunen", "Ekonomiskt bistånd", "Socialsekreterare", Role.staff),
    ("Lena Falk", "lena.falk", "Kommunen", "Campus Oxelösund", "Rektor Campus", Role.staff),
    ("Hanna Vik", "hanna.vik", "Kommunen", "Campus Oxelösund", "Biträdande rektor SFI", Role.staff),
    ("Nils Dahl", "nils.dahl", "Kommunen", "Campus Oxelösund", "Studie- och yrkesvägledare", Role.staff),
    ("Sofia Grön", "sofia.gron", "Regionen", "Vårdcentralen", "Rehabkoordinator", Role.staff),
    ("Per Malm", "per.malm", "FK", None, "Samverkansansvarig", Role.staff),
    ("Amira Nasser", "amira.nasser", "Klarframtid", None, "Delprojektledare", Role.agency_admin),
    ("Johan Björk", "johan.bjork", "Klarframtid", None, "Projektmedarbetare", Role.staff),
    ("Fatima Ali", "fatima.ali", "Klara", None, "Delprojektledare", Role.agency_admin),
    ("Eva Lindqvist", "eva.lindqvist", "Klara", None, "Projektmedarbetare", Role.staff),
]

DRIVHUSET_ROOMS = [
    # name, capacity, description, conversation room, screen, video, accessible
    ("AF:s kontor", 4, "Arbetsförmedlingens rum", False, True, True, True),
    ("Samtalsrum 1", 4, "Samtalsrum vid entrén", True, False, True, True),
    ("Samtalsrum 2", 4, "Samtalsrum", True, False, False, True),
    ("Samtalsrum 3", 3, "Litet samtalsrum", True, False, False, False),
    ("Konferensrummet", 12, "Konferensrum med skärm och video", False, True, True, True),
    ("Stora salen", 60, "Stora rummet för seminarier", False, True, True, True),
    ("Tysta rummet", 2, "Tyst rum för koncentrerat arbete", False, False, False, True),
    ("Grupprummet", 8, "Grupprum", False, True, False, True),
]


def seed_demo() -> None:
    """Build Drivhuset and Koordinaten with agencies, staff, rooms and desks.

    Everything goes into the caller's transaction (the seed-demo command's unit of work)."""
    agencies: dict[str, Agency] = {}
    units: dict[tuple[str, str], Unit] = {}
    for name, short, colour, unit_names in AGENCIES:
        agency = Agency(name=name, short_name=short, colour=colour)
        for unit_name in unit_names:
            unit = Unit(name=unit_name)
            agency.units.append(unit)
            units[(short, unit_name)] = unit
        agencies[short] = agency
        db.session.add(agency)
    db.session.flush()

    password_hash = accounts.hash_password(DEMO_PASSWORD)  # one hash: seeding stays quick
    for name, local, short, unit_name, title, role in STAFF:
        db.session.add(User(
            name=name, email=f"{local}@drivhuset.example", agency=agencies[short],
            unit=units.get((short, unit_name)), title=title, role=role,
            password_hash=password_hash,
        ))

    drivhuset = Site(name="Drivhuset", address="Campus Oxelösund, 613 30 Oxelösund")
    set_standard_opening_hours(drivhuset, time(7, 30), time(17, 0))
    for name, capacity, description, conversation, screen, video, accessible in DRIVHUSET_ROOMS:
        drivhuset.resources.append(Resource(
            name=name, kind=ResourceKind.room, capacity=capacity, description=description,
            is_conversation_room=conversation, has_screen=screen, has_video=video,
            accessible=accessible,
        ))
    for number in range(1, 13):
        drivhuset.resources.append(Resource(
            name=f"Skrivbord {number}", kind=ResourceKind.desk, capacity=1,
            has_screen=number <= 8, accessible=number <= 4,
        ))
    db.session.add(drivhuset)

    koordinaten = Site(name="Koordinaten", address="Oxelösunds bibliotek, Koordinaten, 613 30 Oxelösund")
    set_standard_opening_hours(koordinaten, time(10, 0), time(19, 0), weekdays=range(4))
    koordinaten.opening_hours.append(OpeningHours(weekday=4, opens=time(10, 0), closes=time(16, 0)))
    koordinaten.resources.extend([
        Resource(name="Mötesrummet", kind=ResourceKind.room, capacity=10, has_screen=True,
                 accessible=True, description="Mötesrum i biblioteket"),
        Resource(name="Studierummet", kind=ResourceKind.room, capacity=4, accessible=True,
                 is_conversation_room=True, description="Studierum för samtal"),
    ])
    db.session.add(koordinaten)
    db.session.flush()
    from office.allocations.demo import seed_allocations_and_meetings
    from office.core.i18n import today_local

    seed_allocations_and_meetings(today_local())
    seed_demo_bookings(drivhuset)
    for step in _DEMO_STEPS:
        step()


# title, room, weekday (0 = Monday), start, end, booked by, booked for, repeat rule, attendees
DEMO_BOOKINGS = [
    ("AF:s mottagning", "AF:s kontor", 0, time(8), time(12), "erik.holm", "sara.berg", "FREQ=WEEKLY;COUNT=8", 2),
    ("Jobbcoachning", "Samtalsrum 2", 3, time(10), time(11), "ali.yusuf", None, "FREQ=WEEKLY;INTERVAL=2;COUNT=6", 2),
    ("Studievägledning", "Samtalsrum 3", 4, time(9), time(10), "nils.dahl", None, None, 2),
    ("Klara – gruppträff", "Grupprummet", 0, time(13), time(15), "fatima.ali", "eva.lindqvist", "FREQ=WEEKLY;COUNT=6", 8),
    ("Fokustid", "Tysta rummet", 2, time(8), time(11), "leila.haddad", None, None, 1),
    ("Hemmaplan för dagen", "Skrivbord 3", 1, time(8), time(16), "jonas.ek", None, "FREQ=WEEKLY;COUNT=4", 1),
]


def seed_demo_bookings(site: Site) -> None:
    """Bookings from this week on (relative to today) so the grid is not empty; via book()."""
    from datetime import timedelta

    from office.booking.rules import BookingRefused, BookingRequest, book
    from office.core.i18n import today_local

    rooms = {r.name: r for r in site.resources}
    people = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    monday = today_local() - timedelta(days=today_local().weekday())
    for title, room, weekday, start, end, by, for_, rule, attendees in DEMO_BOOKINGS:
        day = monday + timedelta(days=weekday)
        if day < today_local():
            day += timedelta(days=7)
        request = BookingRequest(resource=rooms[room], title=title, first_day=day, start_time=start,
                                 end_time=end, booked_by=people[by], attendees=attendees,
                                 booked_for=people[for_] if for_ else None, rrule=rule)
        try:
            book(request, allow_partial=True)  # holidays in a series are left out
        except BookingRefused:
            pass  # e.g. a single booking on a holiday: the demo does without it


def print_logins() -> None:
    users = db.session.scalars(
        select(User).where(User.email.like("%@drivhuset.example")).order_by(User.role, User.name)
    ).all()
    if not users:
        return
    click.echo("")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for user in users:
        click.echo(f"  {user.email:<34} {user.role.value:<13} {user.agency.short_name:<12} {user.title}")
    click.echo("")
