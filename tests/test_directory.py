"""Who does what: the staff directory, its search, who may edit which entry, the derived days."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from office.allocations.models import Allocation, AllocationRelease, WeekPattern
from office.booking import rules as booking
from office.booking.rules import BookingRequest
from office.core import clock
from office.core.extensions import db
from office.core.security import Role
from office.directory import rules
from office.directory.models import DirectoryEntry, UnitDescription
from tests.html_forms import form_posting_to
from tests.calendar_days import STOCKHOLM, is_ordinary, ordinary_days

HX = {"HX-Request": "true", "HX-Target": "directory-results"}


@pytest.fixture
def agencies(create_agency):
    kommun = create_agency(name="Oxelösunds kommun", short_name="OXD",
                           units=("Arbetsmarknadsenheten", "Ekonomiskt bistånd"))
    af = create_agency(name="Arbetsförmedlingen", short_name="AF")
    return kommun, af


@pytest.fixture
def people(create_user, agencies):
    kommun, af = agencies
    coach = create_user(agency=kommun, name="Åsa Öberg", title="Jobbcoach", unit=kommun.units[0])
    admin = create_user(role=Role.agency_admin, agency=kommun, name="Kim Lind")
    handlaggare = create_user(agency=af, name="Erik Ström", title="Handläggare")
    af_admin = create_user(role=Role.agency_admin, agency=af, name="Lena Berg")
    return {"coach": coach, "admin": admin, "af": handlaggare, "af_admin": af_admin}


def results(auth, query: str = "") -> str:
    """The directory's results as htmx gets them (no header naming who is logged in)."""
    response = auth.client.get("/directory", query_string={"q": query}, headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def entry_form(**changes):
    data = {"role": "", "help_with": "", "phone": "", "email": "", "other_contact": "",
            "days_override": ""}
    data.update(changes)
    return data


# --- seeing and searching -------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_the_login_page(client, people):
    response = client.get("/directory?q=Åsa")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "Öberg" not in client.get("/directory", follow_redirects=True).get_data(as_text=True)


def test_staff_see_agencies_units_and_people(auth, people):
    auth.login(people["af"])
    page = auth.client.get("/directory").get_data(as_text=True)
    assert "Oxelösunds kommun" in page and "Arbetsmarknadsenheten" in page
    assert "Åsa Öberg" in page and "Jobbcoach" in page and "Erik Ström" in page


@pytest.mark.parametrize("query", ["åsa", "ÅSA", "öberg", "ÖBERG", "arbetsmarknads", "JOBBCOACH",
                                   "kommun åsa", "språkstöd"])
def test_search_ignores_case_in_swedish(auth, people, query):
    rules.save_entry(people["coach"], people["coach"], help_with="Språkstöd och CV")
    db.session.commit()
    auth.login(people["af"])
    page = results(auth, query)
    assert "Åsa Öberg" in page
    assert "Erik Ström" not in page


def test_search_by_agency_short_name_and_help_text(auth, people):
    rules.save_entry(people["af"], people["af"], help_with="Arbetsmarknadsutbildningar, lönebidrag")
    db.session.commit()
    auth.login(people["coach"])
    page = results(auth, "lönebidrag")
    assert "Erik Ström" in page and "Åsa Öberg" not in page
    page = results(auth, "af")
    assert "Erik Ström" in page and "Lena Berg" in page


def test_htmx_search_returns_the_results_and_the_announced_count(auth, people):
    auth.login(people["af"])
    response = auth.client.get("/directory?q=öberg", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and "Åsa Öberg" in body
    assert 'id="directory-count" hx-swap-oob="innerHTML"' in body
    assert "1 person matches" in body or "1 person matchar" in body
    full = auth.client.get("/directory?q=öberg").get_data(as_text=True)
    assert 'id="directory-count"' in full and 'aria-live="polite"' in full
    assert "hx-swap-oob" not in full  # the full page holds the live region itself


def test_nobody_found_says_so(auth, people):
    auth.login(people["af"])
    page = results(auth, "zzzz")
    assert "Erik Ström" not in page
    assert "0 people match" in page or "0 personer matchar" in page


def test_an_overlong_or_control_character_query_is_refused_with_a_message(auth, people):
    auth.login(people["af"])
    response = auth.client.get("/directory", query_string={"q": "a" * 101})
    assert response.status_code == 422
    assert "100" in response.get_data(as_text=True)
    response = auth.client.get("/directory", query_string={"q": "a\x00b"})
    assert response.status_code == 422
    # live search: the reason is in the announced count, the field is not swapped
    response = auth.client.get("/directory", query_string={"q": "a" * 101}, headers=HX)
    assert response.status_code == 422
    assert "Högst 100 tecken" in response.get_data(as_text=True)


def test_the_account_title_is_searched_too(auth, people):
    rules.save_entry(people["af"], people["af"], role="Samordnare för unga")
    db.session.commit()
    auth.login(people["coach"])
    assert "Erik Ström" in results(auth, "handläggare")


def test_deactivated_staff_are_not_listed(auth, people):
    people["admin"].active = False
    db.session.commit()
    auth.login(people["af"])
    assert "Kim Lind" not in results(auth)


def test_the_directory_is_in_the_navigation_of_staff(auth, people):
    auth.login(people["coach"])
    assert 'href="/directory"' in auth.client.get("/dashboard").get_data(as_text=True)


# --- editing ----------------------------------------------------------------------------------

def test_a_person_edits_their_own_entry(auth, people):
    coach = people["coach"]
    auth.login(coach)
    assert auth.client.get(f"/directory/people/{coach.id}/edit").status_code == 200
    response = auth.post(f"/directory/people/{coach.id}/edit", entry_form(
        role="Jobbcoach för unga", help_with="Praktikplatser", phone="+46 155-123 45",
        other_contact="Teams", days_override="Måndagar"))
    assert response.status_code == 302
    entry = db.session.get(DirectoryEntry, coach.id)
    assert (entry.role, entry.phone, entry.days_override) == ("Jobbcoach för unga", "+46 155-123 45", "Måndagar")
    assert entry.updated_by_id == coach.id
    page = auth.client.get("/directory").get_data(as_text=True)
    assert "Praktikplatser" in page and "Måndagar" in page and 'href="tel:+46155-12345"' in page


def test_the_agency_admin_edits_entries_of_their_agency(auth, people):
    auth.login(people["admin"])
    response = auth.post(f"/directory/people/{people['coach'].id}/edit",
                         entry_form(help_with="Försörjningsstöd"))
    assert response.status_code == 302
    assert db.session.get(DirectoryEntry, people["coach"].id).updated_by_id == people["admin"].id


@pytest.mark.parametrize("who", ["af", "af_admin"])
def test_others_cannot_edit_an_entry_of_another_agency(auth, people, who):
    auth.login(people[who])
    coach = people["coach"]
    page = auth.client.get(f"/directory/people/{coach.id}/edit")
    assert page.status_code == 403
    assert "administrator" in page.get_data(as_text=True) or "administratör" in page.get_data(as_text=True)
    response = auth.post(f"/directory/people/{coach.id}/edit", entry_form(help_with="Intrång"))
    assert response.status_code == 403
    assert db.session.get(DirectoryEntry, coach.id) is None


def test_staff_cannot_edit_a_colleague_of_the_same_agency(auth, people, create_user):
    colleague = create_user(agency=people["coach"].agency, name="Nils Ek")
    auth.login(colleague)
    assert auth.post(f"/directory/people/{people['coach'].id}/edit",
                     entry_form(help_with="x")).status_code == 403


def test_the_coordinator_edits_anyone(auth, people, create_user):
    auth.login(create_user(role=Role.coordinator))
    assert auth.post(f"/directory/people/{people['af'].id}/edit",
                     entry_form(phone="010-486 00 00")).status_code == 302
    assert db.session.get(DirectoryEntry, people["af"].id).phone == "010-486 00 00"


@pytest.mark.parametrize("field, value", [
    ("phone", "ring mig"), ("email", "inte-en-adress"), ("role", "x" * 121),
    ("help_with", "Ring om 19811218-9876"), ("other_contact", "a\x07b"), ("phone", "811218-9876"),
])
def test_bad_input_is_refused_with_the_form_as_typed(auth, people, field, value):
    coach = people["coach"]
    auth.login(coach)
    typed = {"help_with": "Praktik", field: value}
    response = auth.post(f"/directory/people/{coach.id}/edit", entry_form(**typed))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error-summary"' in page
    assert "Praktik" in page or field == "help_with"
    assert db.session.get(DirectoryEntry, coach.id) is None


def test_saving_the_edit_page_unchanged_succeeds(auth, people):
    coach = people["coach"]
    rules.save_entry(coach, coach, role="Coach", help_with="CV\nIntervjuträning", phone="0155-1")
    db.session.commit()
    auth.login(coach)
    path = f"/directory/people/{coach.id}/edit"
    html = auth.client.get(path).get_data(as_text=True)
    response = auth.client.post(path, data=MultiDict(form_posting_to(html, path, path).submission()))
    assert response.status_code == 302
    entry = db.session.get(DirectoryEntry, coach.id)
    assert (entry.role, entry.help_with, entry.phone) == ("Coach", "CV\nIntervjuträning", "0155-1")


def test_the_agency_admin_describes_a_unit_of_their_agency_only(auth, people):
    kommun_unit = people["coach"].unit
    auth.login(people["admin"])
    assert auth.post(f"/directory/units/{kommun_unit.id}/edit",
                     {"description": "Jobbcoacher för unga vuxna"}).status_code == 302
    assert db.session.get(UnitDescription, kommun_unit.id).description == "Jobbcoacher för unga vuxna"
    assert "Jobbcoacher för unga vuxna" in auth.client.get("/directory").get_data(as_text=True)
    auth.logout()
    auth.login(people["af_admin"])
    response = auth.post(f"/directory/units/{kommun_unit.id}/edit", {"description": "Intrång"})
    assert response.status_code == 403
    assert db.session.get(UnitDescription, kommun_unit.id).description == "Jobbcoacher för unga vuxna"
    auth.logout()
    auth.login(people["coach"])
    assert auth.client.get(f"/directory/units/{kommun_unit.id}/edit").status_code == 403


def test_an_unknown_person_or_unit_is_not_found(auth, people):
    auth.login(people["admin"])
    assert auth.client.get("/directory/people/999999/edit").status_code == 404
    assert auth.client.get("/directory/units/999999/edit").status_code == 404


# --- which days people are in ----------------------------------------------------------------

def allocate(agency, resource, weekdays: str, first: date, last: date, **fields) -> Allocation:
    allocation = Allocation(agency=agency, resource=resource, weekdays=weekdays, start_time=time(8),
                            end_time=time(16), first_day=first, last_day=last, **fields)
    db.session.add(allocation)
    db.session.commit()
    return allocation


def expected_days(weekdays: set[int], first: date, keep=lambda d: True) -> set[date]:
    days = (first + timedelta(days=n) for n in range(rules.DAYS_AHEAD))
    return {d for d in days if d.weekday() in weekdays and is_ordinary(d) and keep(d)}


@pytest.mark.clock("2027-02-08T09:00+01:00")  # a Monday; no holiday in the next two weeks
def test_days_derive_from_an_every_other_week_allocation(app, people, create_resource):
    today = clock.today(STOCKHOLM)
    assert all(is_ordinary(d) for d in ordinary_days(10) if d <= today + timedelta(days=13))
    af = people["af"]
    allocate(af.agency, create_resource(), "13", today - timedelta(days=30),
             today + timedelta(days=90), pattern=WeekPattern.odd_weeks)
    presence = rules.presence_of([af], {})[af.id]
    odd = expected_days({1, 3}, today, keep=lambda d: d.isocalendar().week % 2 == 1)
    assert presence.coming_days == sorted(odd) and len(odd) == 2
    assert presence.allocation_patterns == ["tis, tors (udda veckor)"]  # Swedish by default
    # the municipality holds no allocation: no days for its people
    assert rules.presence_of([people["coach"]], {})[people["coach"].id].coming_days == []


@pytest.mark.clock("2026-12-21T09:00+01:00")  # Monday before julafton and nyårsafton
def test_holidays_and_released_days_are_not_days_in_the_premises(app, people, create_resource):
    today = clock.today(STOCKHOLM)
    af = people["af"]
    allocation = allocate(af.agency, create_resource(), "0123", today, today + timedelta(days=60))
    db.session.add(AllocationRelease(allocation=allocation, day=today + timedelta(days=1)))
    db.session.commit()
    days = rules.presence_of([af], {})[af.id].coming_days
    assert date(2026, 12, 24) not in days and date(2026, 12, 31) not in days  # julafton, nyårsafton
    assert date(2026, 12, 22) not in days  # given back
    assert days == sorted(expected_days({0, 1, 2, 3}, today, keep=lambda d: d != date(2026, 12, 22)))


def test_own_bookings_add_days_and_the_override_replaces_them(auth, people, create_resource):
    coach = people["coach"]
    day = ordinary_days(1, days_ahead=3)[0]
    booking.book(BookingRequest(resource=create_resource(), title="Arbete", first_day=day,
                                start_time=time(9), end_time=time(10), booked_by=coach),
                 now=clock.now())
    db.session.commit()
    presence = rules.presence_of([coach], {})[coach.id]
    assert presence.booked_days == {day} and presence.coming_days == [day]
    auth.login(people["af"])
    page = auth.client.get("/directory?q=öberg").get_data(as_text=True)
    assert "directory-day" in page
    rules.save_entry(coach, coach, days_override="Onsdagar")
    db.session.commit()
    page = auth.client.get("/directory?q=öberg").get_data(as_text=True)
    assert "Onsdagar" in page and "directory-day" not in page


def test_a_cancelled_booking_adds_no_day(app, people, create_resource):
    coach = people["coach"]
    day = ordinary_days(1, days_ahead=3)[0]
    reservation = booking.book(BookingRequest(resource=create_resource(), title="Arbete", first_day=day,
                                              start_time=time(9), end_time=time(10), booked_by=coach),
                               now=clock.now())
    reservation.cancelled_at = clock.now()
    db.session.commit()
    assert rules.presence_of([coach], {})[coach.id].booked_days == set()


def test_a_meeting_booked_for_a_group_is_not_the_bookers_day(app, people, create_resource):
    from office.booking.models import ReservationKind

    coach = people["coach"]
    day = ordinary_days(1, days_ahead=3)[0]
    booking.book(BookingRequest(resource=create_resource(), title="Styrgruppen", first_day=day,
                                start_time=time(9), end_time=time(10), booked_by=coach,
                                kind=ReservationKind.meeting), now=clock.now())
    db.session.commit()
    assert rules.presence_of([coach], {})[coach.id].booked_days == set()


def test_the_directory_takes_the_same_statements_for_few_or_many_agencies(auth, people, create_agency,
                                                                          create_user):
    from sqlalchemy import event

    def statements() -> int:
        count = []
        listener = lambda *args: count.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert auth.client.get("/directory", headers=HX).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(count)

    auth.login(people["af"])
    few = statements()
    for n in range(4):
        agency = create_agency(units=(f"Enhet {n}",))
        create_user(agency=agency, unit=agency.units[0])
    assert statements() == few


@pytest.mark.clock("2027-02-08T09:00+01:00")  # a Monday; no holiday in the next two weeks
def test_the_agencys_days_are_kept_to_the_persons_working_days_and_absences(app, people, create_resource):
    from office.availability import rules as availability
    from office.availability.models import AbsenceKind

    today = clock.today(STOCKHOLM)
    af = people["af"]
    allocate(af.agency, create_resource(), "0123", today, today + timedelta(days=60))
    availability.set_working_hours(af.id, {0: (time(8), time(17)), 1: (time(8), time(12))})
    tuesday = today + timedelta(days=1)
    availability.add_absence(af.id, AbsenceKind.course, datetime.combine(tuesday, time(7), STOCKHOLM),
                             datetime.combine(tuesday, time(13), STOCKHOLM))
    db.session.commit()
    days = rules.presence_of([af], {})[af.id].coming_days
    # Mondays and Tuesdays only (working hours), not the Tuesday of the course
    assert days == sorted(expected_days({0, 1}, today, keep=lambda d: d != tuesday))
    assert rules.presence_of([people["af_admin"]], {})[people["af_admin"].id].coming_days == sorted(
        expected_days({0, 1, 2, 3}, today))  # the default hours: every weekday


@pytest.mark.clock("2027-02-08T09:00+01:00")
def test_an_agency_pattern_the_person_does_not_work_shows_no_next_day(auth, people, create_resource):
    from office.availability import rules as availability

    today = clock.today(STOCKHOLM)
    af = people["af"]
    allocate(af.agency, create_resource(), "4", today, today + timedelta(days=60),
             pattern=WeekPattern.every_n_weeks, interval_weeks=3)
    availability.set_working_hours(af.id, {0: (time(8), time(17))})  # Mondays only
    db.session.commit()
    auth.login(af)
    page = results(auth, "ström")
    assert "(var 3:e vecka)" in page  # the agency's pattern, in Swedish
    assert "Nästa dag här" not in page and "Inga kända dagar" in page


def test_public_pages_never_link_the_directory(client, people):
    for path in ("/login", "/seminars/public/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "/directory" not in response.get_data(as_text=True), path
