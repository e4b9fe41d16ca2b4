"""Allocations: week patterns, no overlap, covered bookings, rights, release and auto-release."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.allocations import rules as allocations
from office.allocations.models import Allocation, AllocationRelease, ReleasePolicy, WeekPattern
from office.allocations.rules import (
    AllocationCalendar,
    AllocationRefused,
    AllocationSpec,
    BookingsCovered,
    CoveredChoice,
    SlotStateKind,
)
from office.booking import rules as booking
from office.booking.models import OccurrenceState
from office.booking.rules import BookingRefused, BookingRequest
from office.core.extensions import db
from office.core.i18n import today_local
from office.core.transaction import unit_of_work
from office.premises.models import ResourceKind
from tests.calendar_days import ordinary_day
from tests.deadlines import join_all, start_threads

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc)  # a Monday morning before the dates used


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), STOCKHOLM).astimezone(timezone.utc)


@pytest.fixture
def site(create_site):
    return create_site(opens=time(7, 0), closes=time(18, 0))


@pytest.fixture
def desk(create_resource, site):
    return create_resource(site=site, name="Skrivbord 1", kind=ResourceKind.desk, capacity=1)


@pytest.fixture
def af(create_agency):
    return create_agency(name="Arbetsförmedlingen", short_name="AF")


@pytest.fixture
def kommunen(create_agency):
    return create_agency(name="Oxelösunds kommun", short_name="Kommunen")


@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator)


def spec(agency, resources, weekdays=(1, 3), start=time(8), end=time(16),
         first=date(2026, 1, 1), last=date(2026, 6, 30), pattern=WeekPattern.every_week, **kw):
    return AllocationSpec(agency=agency, resources=list(resources), weekdays=list(weekdays),
                          start_time=start, end_time=end, first_day=first, last_day=last,
                          pattern=pattern, **kw)


def book(resource, user, day, start, end, now=NOW, **kw):
    return booking.book(BookingRequest(resource=resource, title="Arbete", first_day=day,
                                       start_time=start, end_time=end, booked_by=user, **kw),
                        now=now)


# --- week patterns across the year boundary (2026 has ISO week 53) ----------------

TUESDAYS = {52: date(2026, 12, 22), 53: date(2026, 12, 29), 1: date(2027, 1, 5),
            2: date(2027, 1, 12)}


def test_iso_weeks_of_the_year_boundary():
    assert {allocations.iso_week(day) for day in TUESDAYS.values()} == {52, 53, 1, 2}
    assert [allocations.iso_week(d) for d in TUESDAYS.values()] == [52, 53, 1, 2]


@pytest.mark.parametrize("pattern, weeks", [
    (WeekPattern.odd_weeks, [53, 1]),       # parity: week 53 and week 1 are both odd
    (WeekPattern.even_weeks, [52, 2]),
    (WeekPattern.every_week, [52, 53, 1, 2]),
])
def test_parity_patterns_across_the_year_boundary(pattern, weeks):
    allocation = Allocation(weekdays="1", first_day=date(2026, 12, 1), last_day=date(2027, 1, 31),
                            pattern=pattern, interval_weeks=1)
    days = allocations.pattern_days(allocation, date(2026, 12, 21), date(2027, 1, 17))
    assert days == [TUESDAYS[w] for w in weeks]


def test_every_two_weeks_is_a_strict_cadence_from_the_first_day():
    allocation = Allocation(weekdays="1", first_day=date(2026, 12, 22), last_day=date(2027, 2, 1),
                            pattern=WeekPattern.every_n_weeks, interval_weeks=2)
    assert allocations.pattern_days(allocation)[:3] == [
        date(2026, 12, 22), date(2027, 1, 5), date(2027, 1, 19)]


def test_weeks_of_the_month_first_and_last():
    allocation = Allocation(weekdays="1", first_day=date(2026, 3, 1), last_day=date(2026, 4, 30),
                            pattern=WeekPattern.weeks_of_month, weeks_of_month="1L")
    assert allocations.pattern_days(allocation) == [
        date(2026, 3, 3), date(2026, 3, 31), date(2026, 4, 7), date(2026, 4, 28)]


def test_windows_keep_wall_clock_time_across_daylight_saving(desk, af, coordinator):
    allocations.create_allocations(spec(af, [desk], weekdays=range(5), first=date(2026, 3, 23),
                                        last=date(2026, 10, 30)), coordinator)
    calendar = AllocationCalendar(desk.site, [desk.id], date(2026, 3, 1), date(2026, 11, 1), NOW)
    for day, utc_hour in [(date(2026, 3, 27), 7), (date(2026, 3, 30), 6),
                          (date(2026, 10, 23), 6), (date(2026, 10, 26), 7)]:
        (window,) = calendar.windows_on(desk.id, day)
        assert window.starts_at.hour == utc_hour
        assert window.hours == 8


# --- no overlap between allocations of one resource ------------------------------

def test_odd_and_even_weeks_of_one_desk_do_not_clash(desk, af, kommunen, coordinator):
    allocations.create_allocations(spec(af, [desk], pattern=WeekPattern.odd_weeks), coordinator)
    allocations.create_allocations(spec(kommunen, [desk], pattern=WeekPattern.even_weeks), coordinator)
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 2


def test_overlapping_allocation_is_refused_naming_the_clash(desk, af, kommunen, coordinator):
    allocations.create_allocations(spec(af, [desk], pattern=WeekPattern.odd_weeks), coordinator)
    with pytest.raises(AllocationRefused) as refused:
        allocations.create_allocations(spec(kommunen, [desk], weekdays=[1], start=time(12),
                                            end=time(14)), coordinator)
    assert refused.value.status == 409
    assert "Skrivbord 1" in refused.value.messages[0] and "AF" in refused.value.messages[0]
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 1


def test_several_desks_at_once_all_or_nothing(create_resource, site, af, kommunen, coordinator):
    desks = [create_resource(site=site, name=f"Skrivbord {n}", kind=ResourceKind.desk, capacity=1)
             for n in (1, 2, 3)]
    allocations.create_allocations(spec(kommunen, [desks[2]], weekdays=[3]), coordinator)
    with pytest.raises(AllocationRefused):
        allocations.create_allocations(spec(af, desks), coordinator)
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 1
    allocations.create_allocations(spec(af, desks[:2]), coordinator)
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 3


# --- an allocation over existing bookings asks first ------------------------------

@pytest.fixture
def future_day() -> date:
    """An ordinary working day two weeks ahead on the app's clock (HTTP requests use it too)."""
    return ordinary_day(days_ahead=14)


def test_covered_bookings_are_listed_and_nothing_changes_until_the_choice(
        desk, af, kommunen, coordinator, create_user, future_day):
    other = create_user(agency=kommunen)
    reservation = book(desk, other, future_day, time(9), time(10), now=None)
    allocation_spec = spec(af, [desk], weekdays=[future_day.weekday()], first=future_day,
                           last=future_day + timedelta(days=30))
    with pytest.raises(BookingsCovered) as asked:
        allocations.create_allocations(allocation_spec, coordinator)
    assert [o.reservation_id for o in asked.value.occurrences] == [reservation.id]
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 0

    allocations.create_allocations(allocation_spec, coordinator, CoveredChoice.cancel)
    db.session.refresh(reservation)
    assert reservation.occurrences[0].state == OccurrenceState.cancelled
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 1


def test_keeping_covered_bookings_leaves_them_active(desk, af, kommunen, coordinator,
                                                     create_user, future_day):
    other = create_user(agency=kommunen)
    reservation = book(desk, other, future_day, time(9), time(10), now=None)
    allocations.create_allocations(spec(af, [desk], weekdays=[future_day.weekday()],
                                        first=future_day, last=future_day), coordinator,
                                   CoveredChoice.keep)
    db.session.refresh(reservation)
    assert reservation.occurrences[0].state == OccurrenceState.active


# --- rights, enforced by the booking rule ----------------------------------------

@pytest.fixture
def af_desk(desk, af, coordinator):
    """AF holds the desk Tuesdays and Thursdays 8–16 all spring."""
    (allocation,) = allocations.create_allocations(spec(af, [desk]), coordinator)
    return allocation


TUESDAY = date(2026, 2, 3)


def test_staff_of_other_agency_cannot_book_inside_allocation(desk, af_desk, kommunen, create_user):
    other = create_user(agency=kommunen)
    with pytest.raises(BookingRefused) as refused:
        book(desk, other, TUESDAY, time(10), time(11))
    assert [p.code for p in refused.value.problems] == ["allocated"]
    assert "Arbetsförmedlingen (AF)" in str(refused.value.problems[0])
    assert "08:00–16:00" in str(refused.value.problems[0])


def test_own_agency_and_outside_the_window_may_book(desk, af_desk, af, kommunen, create_user):
    book(desk, create_user(agency=af), TUESDAY, time(9), time(10))
    other = create_user(agency=kommunen)
    book(desk, other, TUESDAY, time(16), time(17))           # touches the end: outside
    book(desk, other, TUESDAY + timedelta(days=1), time(9), time(10))  # Wednesday: not allocated
    with pytest.raises(BookingRefused):
        book(desk, other, TUESDAY, time(15), time(17))       # reaches into the window


def test_a_series_refuses_the_allocated_days_only(desk, af_desk, kommunen, create_user):
    other = create_user(agency=kommunen)
    with pytest.raises(BookingRefused) as refused:
        book(desk, other, date(2026, 2, 2), time(9), time(10), rrule="FREQ=DAILY;COUNT=5")
    assert {p.day for p in refused.value.problems} == {date(2026, 2, 3), date(2026, 2, 5)}


def test_after_release_anyone_may_book(desk, af_desk, af, kommunen, create_user):
    admin = create_user(role=Role.agency_admin, agency=af)
    assert allocations.release_allocation(af_desk, admin, TUESDAY, now=NOW) == 1
    assert allocations.release_allocation(af_desk, admin, TUESDAY, now=NOW) == 0  # idempotent
    other = create_user(agency=kommunen)
    book(desk, other, TUESDAY, time(10), time(11))
    with pytest.raises(BookingRefused):
        book(desk, other, TUESDAY + timedelta(days=2), time(10), time(11))  # Thursday still held


def test_release_of_a_date_range_releases_only_the_allocated_days(af_desk, af, create_user):
    admin = create_user(role=Role.agency_admin, agency=af)
    count = allocations.release_allocation(af_desk, admin, date(2026, 2, 2), date(2026, 2, 15),
                                           now=NOW)
    days = db.session.scalars(select(AllocationRelease.day).order_by(AllocationRelease.day)).all()
    assert count == 4
    assert days == [date(2026, 2, 3), date(2026, 2, 5), date(2026, 2, 10), date(2026, 2, 12)]


def test_who_may_release(af_desk, af, kommunen, create_user):
    staff = create_user(agency=af)
    other_admin = create_user(role=Role.agency_admin, agency=kommunen)
    assert not allocations.can_release(staff, af_desk)
    assert not allocations.can_release(other_admin, af_desk)
    with pytest.raises(PermissionError):
        allocations.release_allocation(af_desk, staff, TUESDAY, now=NOW)
    allocations.set_staff_may_release(af, True)
    assert allocations.can_release(staff, af_desk)
    assert allocations.release_allocation(af_desk, staff, TUESDAY, now=NOW) == 1


def test_after_the_lead_time_anyone_may_book(desk, af_desk, kommunen, create_user):
    other = create_user(agency=kommunen)
    # Default: 12:00 on the working day before (Monday 2 February for Tuesday 3 February).
    with pytest.raises(BookingRefused):
        book(desk, other, TUESDAY, time(10), time(11), now=at(date(2026, 2, 2), 11, 59))
    book(desk, other, TUESDAY, time(10), time(11), now=at(date(2026, 2, 2), 12, 0))


def test_lead_time_counts_working_days_over_weekends_and_holidays(desk, af, coordinator, site):
    # Monday 6 April 2026 is Easter Monday: for Tuesday 7 April the working day before
    # is Thursday 2 April (Good Friday is a holiday too).
    allocations.create_allocations(spec(af, [desk], weekdays=[1]), coordinator)
    calendar = AllocationCalendar(site, [desk.id], date(2026, 4, 1), date(2026, 4, 30), NOW)
    assert calendar.release_moment(date(2026, 4, 7)) == at(date(2026, 4, 2), 12)
    db.session.add(ReleasePolicy(site_id=site.id, working_days_before=2, release_time=time(15)))
    db.session.commit()
    calendar = AllocationCalendar(site, [desk.id], date(2026, 4, 1), date(2026, 4, 30), NOW)
    assert calendar.release_moment(date(2026, 4, 14)) == at(date(2026, 4, 10), 15)


def test_allocated_only_resource(desk, af_desk, af, kommunen, create_user):
    desk.allocated_only = True
    db.session.commit()
    own, other = create_user(agency=af), create_user(agency=kommunen)
    wednesday = TUESDAY + timedelta(days=1)
    for user in (own, other):
        with pytest.raises(BookingRefused) as refused:
            book(desk, user, wednesday, time(9), time(10))
        assert refused.value.problems[0].code == "allocated_only"
    book(desk, own, TUESDAY, time(9), time(10))
    with pytest.raises(BookingRefused):
        book(desk, own, TUESDAY, time(15), time(17))  # half outside the allocation
    allocations.release_allocation(af_desk, create_user(role=Role.agency_admin, agency=af),
                                   TUESDAY, now=NOW)
    book(desk, other, TUESDAY, time(10), time(11))


def test_allocation_state_for_the_grid(desk, af_desk, af, create_user):
    state = allocations.allocation_state(desk, at(TUESDAY, 9), at(TUESDAY, 10), now=NOW)
    assert state.kind == SlotStateKind.allocated and state.agency.short_name == "AF"
    assert state.bookable_by(af.id) and not state.bookable_by(af.id + 1)
    wednesday = TUESDAY + timedelta(days=1)
    assert allocations.allocation_state(desk, at(wednesday, 9), at(wednesday, 10),
                                        now=NOW).kind == SlotStateKind.free
    after_lead = at(date(2026, 2, 2), 13)
    assert allocations.allocation_state(desk, at(TUESDAY, 9), at(TUESDAY, 10),
                                        now=after_lead).kind == SlotStateKind.released


# --- release-unclaimed ------------------------------------------------------------

def test_release_unclaimed_records_once_and_skips_claimed_windows(desk, af_desk, af,
                                                                    create_user):
    thursday = TUESDAY + timedelta(days=2)
    book(desk, create_user(agency=af), thursday, time(8), time(16))  # fully claimed
    now = at(date(2026, 2, 4), 12, 30)  # past the lead time of Thursday, and of Tuesday's? no
    first = allocations.release_unclaimed(now)
    again = allocations.release_unclaimed(now)
    rows = db.session.execute(select(AllocationRelease.day, AllocationRelease.automatic)).all()
    assert (first, again) == (0, 0) and rows == []  # Tuesday has passed, Thursday is claimed
    later = at(date(2026, 2, 9), 12, 30)  # Tuesday 10 February is now released
    assert allocations.release_unclaimed(later) == 1
    assert allocations.release_unclaimed(later) == 0
    assert db.session.execute(select(AllocationRelease.day, AllocationRelease.automatic)).all() == [
        (date(2026, 2, 10), True)]


def test_release_unclaimed_command(app, desk, af_desk):
    result = app.test_cli_runner().invoke(args=["release-unclaimed"])
    assert result.exit_code == 0 and "Released 0" in result.output  # the spring has passed


# --- over HTTP --------------------------------------------------------------------

@pytest.fixture
def live_allocation(desk, af, coordinator, future_day):
    """AF holds the desk every weekday 8–16 from today for two months (real clock)."""
    (allocation,) = allocations.create_allocations(spec(
        af, [desk], weekdays=range(5), first=today_local(),
        last=today_local() + timedelta(days=60)), coordinator)
    return allocation


def post_booking(auth, desk, day):
    return auth.post("/allocations/book", {
        "resource_id": desk.id, "day": day.isoformat(), "start_time": "10:00",
        "end_time": "11:00", "title": "Samtal"})


def test_http_booking_inside_unreleased_allocation_is_refused(
        auth, desk, live_allocation, kommunen, create_user, future_day):
    auth.login(create_user(agency=kommunen))
    response = post_booking(auth, desk, future_day)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Arbetsförmedlingen (AF)" in page and 'class="error-summary"' in page
    assert db.session.scalar(select(func.count()).select_from(booking.Reservation)) == 0


def test_http_release_then_other_agency_books(auth, client, desk, live_allocation, af, kommunen,
                                              create_user, future_day):
    auth.login(create_user(role=Role.agency_admin, agency=af))
    response = auth.post(f"/allocations/{live_allocation.id}/release",
                         {"first_day": future_day.isoformat(), "last_day": ""})
    assert response.status_code == 302
    auth.logout()
    auth.login(create_user(agency=kommunen))
    assert post_booking(auth, desk, future_day).status_code == 302
    refused = post_booking(auth, desk, ordinary_day(after=future_day))  # not released
    assert refused.status_code == 422 and "Arbetsförmedlingen (AF)" in refused.get_data(as_text=True)


def test_http_booking_after_the_lead_time(auth, desk, live_allocation, kommunen, create_user,
                                          future_day, site):
    db.session.add(ReleasePolicy(site_id=site.id, working_days_before=25, release_time=time(12)))
    db.session.commit()
    auth.login(create_user(agency=kommunen))
    assert post_booking(auth, desk, future_day).status_code == 302


def test_staff_of_another_agency_cannot_release(auth, live_allocation, kommunen, create_user,
                                                future_day):
    auth.login(create_user(role=Role.agency_admin, agency=kommunen))
    response = auth.post(f"/allocations/{live_allocation.id}/release",
                         {"first_day": future_day.isoformat()})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AllocationRelease)) == 0


def test_http_new_allocation_lists_covered_bookings_then_keeps_them(
        auth, desk, af, kommunen, coordinator, create_user, future_day):
    book(desk, create_user(agency=kommunen), future_day, time(9), time(10), now=None)
    auth.login(coordinator)
    form = {"agency_id": af.id, "resource_ids": desk.id, "weekdays": future_day.weekday(),
            "start_time": "08:00", "end_time": "16:00", "pattern": "every_week",
            "interval_weeks": "2", "term_id": "0", "first_day": future_day.isoformat(),
            "last_day": (future_day + timedelta(days=7)).isoformat()}
    response = auth.post("/allocations/new", form)
    assert response.status_code == 409
    assert "covers bookings by others" in response.get_data(as_text=True) or \
        "täcker bokningar" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 0
    assert auth.post("/allocations/new", {**form, "covered": "keep"}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Allocation)) == 1
    clash = auth.post("/allocations/new", {**form, "covered": "keep"})
    assert clash.status_code == 409 and "Skrivbord 1" in clash.get_data(as_text=True)


def test_plan_shows_week_parity_and_agency(auth, desk, af_desk, create_user):
    auth.login(create_user())
    response = auth.client.get(f"/allocations/plan?site={desk.site_id}&week=2026-W05")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Vecka 5" in page and "udda vecka" in page
    assert f'class="agency-badge agency-{af_desk.agency_id}">AF<' in page
    fragment = auth.client.get(f"/allocations/plan?site={desk.site_id}&week=2026-W53",
                               headers={"HX-Request": "true", "HX-Target": "allocation-plan"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and "Vecka 53" in text and "udda vecka" in text


def test_coordinator_edits_a_plan_cell_in_place(auth, desk, af, coordinator):
    allocations.ensure_terms(2026)
    db.session.commit()
    auth.login(coordinator)
    headers = {"HX-Request": "true", "HX-Target": f"cell-{desk.id}-2026-02-03"}
    editor = auth.client.get(f"/allocations/plan/cell/{desk.id}/2026-02-03?edit=1", headers=headers)
    assert editor.status_code == 200 and "<form" in editor.get_data(as_text=True)
    saved = auth.client.post(
        f"/allocations/plan/cell/{desk.id}/2026-02-03", headers={**headers, "X-CSRFToken": auth.token},
        data={"agency_id": af.id, "start_time": "08:00", "end_time": "12:00", "pattern": "even_weeks"})
    assert saved.status_code == 200
    assert "AF" in saved.get_data(as_text=True)
    (allocation,) = db.session.scalars(select(Allocation)).all()
    # 3 February 2026 is in ISO week 6: even.
    assert (allocation.weekdays, allocation.pattern) == ("1", WeekPattern.even_weeks)
    assert (allocation.first_day, allocation.last_day) == (date(2026, 1, 1), date(2026, 6, 30))
    again = auth.client.post(
        f"/allocations/plan/cell/{desk.id}/2026-02-03", headers={**headers, "X-CSRFToken": auth.token},
        data={"agency_id": af.id, "start_time": "10:00", "end_time": "11:00", "pattern": "every_week"})
    assert again.status_code == 409 and 'class="error-summary"' in again.get_data(as_text=True)


def test_copy_term_plan_to_next_term(desk, af, kommunen, coordinator, create_resource, site):
    spring, autumn = allocations.ensure_terms(2026)
    allocations.create_allocations(spec(af, [desk], pattern=WeekPattern.odd_weeks, term=spring),
                                   coordinator)
    other = create_resource(site=site, name="Skrivbord 2", kind=ResourceKind.desk, capacity=1)
    allocations.create_allocations(spec(af, [other], term=spring), coordinator)
    allocations.create_allocations(spec(kommunen, [other], first=autumn.first_day,
                                        last=autumn.last_day, term=autumn), coordinator)
    result = allocations.copy_term_plan(spring, allocations.next_term(spring), coordinator)
    assert len(result.created) == 1 and len(result.skipped) == 1
    (copy,) = result.created
    assert (copy.first_day, copy.last_day, copy.pattern) == (
        date(2026, 8, 1), date(2026, 12, 31), WeekPattern.odd_weeks)


def test_staff_cannot_reach_coordinator_pages(auth, create_user, desk):
    auth.login(create_user())
    assert auth.client.get("/allocations/new").status_code == 403
    assert auth.client.get("/allocations/settings").status_code == 403
    assert auth.client.get("/allocations/utilization").status_code == 403


def test_release_unclaimed_on_two_machines_at_once(app, desk, af, coordinator):
    import threading

    # Every weekday of February: at this "now", Tuesday 10 February's lead time has passed.
    allocations.create_allocations(spec(af, [desk], weekdays=range(5), first=date(2026, 2, 10),
                                        last=date(2026, 2, 28)), coordinator)
    now = at(date(2026, 2, 9), 12, 30)
    counts, errors = [], []
    barrier = threading.Barrier(2, timeout=60)

    def runner():
        with app.app_context():
            try:
                barrier.wait()
                with unit_of_work():  # what the release-unclaimed command does
                    counts.append(allocations.release_unclaimed(now))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    db.session.commit()
    join_all(start_threads(runner), 120, "release-unclaimed on two machines")
    assert errors == []
    assert sorted(counts) == [0, 1]
    assert db.session.scalar(select(func.count()).select_from(AllocationRelease)) == 1
