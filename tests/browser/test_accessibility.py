"""axe-core on every main page, public and logged in, in Swedish and in English.

The rule set is WCAG 2.1 A and AA (tags wcag2a, wcag2aa, wcag21a, wcag21aa); any violation
fails. axe-core comes bundled with axe-playwright-python (a test dependency, no network);
its version is printed in the failure report and in docs/accessibility.md.

PAGES is the list to extend: a new page gets a row (who sees it, how to reach it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from office.accounts import rules as accounts
from office.accounts.models import Agency, Role, Unit, User
from office.allocations.models import Allocation
from office.booking.models import ReservationOccurrence
from office.core.extensions import db
from office.core.i18n import today_local
from office.demo.seed import DEMO_PASSWORD
from office.doorscreens import rules as doorscreens
from office.floorplans.models import FloorPlan
from office.meetings.models import MeetingOccurrence, MeetingSeries, MinutesStatus
from office.premises.models import Resource, ResourceKind, Site
from office.trepartssamtal import rules as trepartssamtal
from seminars import registration
from seminars.models import (
    Audience,
    PlanTask,
    Seminar,
    SeminarDay,
    SeminarKind,
    SeminarSession,
    SeminarState,
    VenueKind,
)

pytestmark = pytest.mark.browser

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
COORDINATOR = "anna.lind@drivhuset.example"
STAFF = "sara.berg@drivhuset.example"


@dataclass(frozen=True)
class Page:
    name: str
    who: str | None  # e-mail of the user to log in as; None: public
    path: str = ""  # may name {site}, {resource}, {agency}, {token}
    then: Callable | None = None  # steps after loading the path (e.g. send a bad form)
    status: int = 200  # what loading the path answers: a typo in a row must not test a 404 page


def _send_wrong_password(page):
    page.locator("#email").fill(STAFF)
    page.locator("#password").fill("not the password")
    page.locator("form.narrow-form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()


def _send_empty_form(page):
    page.locator("main form.narrow-form button[type=submit]").first.click()
    expect(page.locator(".error-summary").first).to_be_visible()


def _clear_the_title(page):
    page.locator("#title").fill("")
    page.locator("main form.narrow-form button[type=submit]").first.click()
    expect(page.locator(".error-summary").first).to_be_visible()


def _send_bad_opening_hours(page):
    page.locator("#opens_0").fill("17:00")
    page.locator("#closes_0").fill("08:00")
    page.locator("main form.narrow-form button[type=submit]").first.click()
    expect(page.locator(".field-error").first).to_be_visible()


def _make_invitation_link(page):
    page.locator("main table form button").nth(1).click()  # "New invitation link"
    expect(page.locator("#invitation-link")).to_be_visible()


def _open_a_plan_cell(page):
    page.locator("main td[id^=cell-] button[hx-get]").first.click()  # "Edit" (htmx)
    expect(page.locator("main form.cell-form select").first).to_be_visible()


def _open_a_free_grid_cell(page):
    page.locator("#booking-grid a[href*='/bookings/new?']").first.click()  # form in place (htmx)
    expect(page.locator("#booking-panel form")).to_be_visible()


def _send_an_empty_booking(page):
    page.locator("#title").fill("")
    page.locator("#start").fill("")
    page.locator("main form button.primary").last.click()
    expect(page.locator(".error-summary").first).to_be_visible()


def _find_times_with_ali(page):
    page.get_by_label("Ali Yusuf", exact=False).check()
    page.get_by_role("button", name=re.compile("^(Hitta tider|Find times)$")).click()
    expect(page.locator(".proposal-list")).to_be_visible()


def _find_times_alone(page):  # refused: a trepartssamtal needs two agencies
    page.get_by_role("button", name=re.compile("^(Hitta tider|Find times)$")).click()
    expect(page.locator(".error-summary").first).to_be_visible()


def _turn_on_two_step_verification(page):
    import pyotp

    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.locator("main form button.primary").click()
    expect(page.locator(".recovery-codes")).to_be_visible()


def _log_in_again_to_the_code_step(page):
    page.locator("header form.inline-form button[type=submit]").click()  # "Log out"
    expect(page).to_have_url(re.compile(r"/login$"))
    page.locator("#email").fill(STAFF)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form.narrow-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login/code$"))


def _search_the_directory(page):
    page.locator("#q").fill("jobbcoach")  # htmx swaps the results and the announced count
    expect(page.locator("#directory-count")).to_contain_text(re.compile("(matchar|match)"))


def _send_a_bad_phone(page):
    page.locator("#phone").fill("ring mig")
    page.locator("main form.narrow-form button[type=submit]").first.click()
    expect(page.locator(".error-summary").first).to_be_visible()


def _make_a_feed_link(page):
    page.locator("main form.feed-form button.primary").first.click()
    expect(page.locator("#new-link-https")).to_be_visible()


def _make_a_door_link(page):
    page.locator("main form.narrow-form button.primary").click()
    expect(page.locator("#new-door-link")).to_be_visible()


def _open_a_free_place(page):
    page.locator(".plan-places a.place.state-free").first.click()
    expect(page.locator("#plan-panel form")).to_be_visible()


def _book_a_place_at_a_bad_time(page):
    _open_a_free_place(page)
    page.locator("#plan-panel #start").fill("10:07")
    page.locator("#plan-panel button.primary").click()
    expect(page.locator("#plan-panel .error-summary").first).to_be_visible()


PAGES = [
    Page("login", None, "/login"),
    Page("login refused", None, "/login", _send_wrong_password),
    Page("not found", None, "/no/such/page", status=404),
    Page("accept invitation", None, "/invitation/{token}"),
    Page("accept invitation refused", None, "/invitation/{token}", _send_empty_form),
    Page("dashboard (staff)", STAFF, "/dashboard"),
    Page("forbidden (staff)", STAFF, "/users/", status=403),
    Page("dashboard", COORDINATOR, "/dashboard"),
    Page("administration", COORDINATOR, "/administration"),
    Page("sites", COORDINATOR, "/sites/"),
    Page("site", COORDINATOR, "/sites/{site}"),
    Page("site closed day refused", COORDINATOR, "/sites/{site}", _send_empty_form),
    Page("new site", COORDINATOR, "/sites/new"),
    Page("edit site refused", COORDINATOR, "/sites/{site}/edit", _send_bad_opening_hours),
    Page("resources", COORDINATOR, "/resources/"),
    Page("new resource", COORDINATOR, "/resources/new"),
    Page("edit resource", COORDINATOR, "/resources/{resource}/edit"),
    Page("agencies", COORDINATOR, "/agencies/"),
    Page("new agency refused", COORDINATOR, "/agencies/new", _send_empty_form),
    Page("edit agency", COORDINATOR, "/agencies/{agency}/edit"),
    Page("staff", COORDINATOR, "/users/"),
    Page("invite", COORDINATOR, "/users/invite"),
    Page("invite refused", COORDINATOR, "/users/invite", _send_empty_form),
    Page("invitation link", COORDINATOR, "/users/", _make_invitation_link),
    Page("change password", COORDINATOR, "/password"),
    Page("change password refused", COORDINATOR, "/password", _send_empty_form),
    Page("mail choices", STAFF, "/account/mail"),
    Page("my account", COORDINATOR, "/account/"),
    Page("my account (staff)", STAFF, "/account/"),
    Page("two-step verification", COORDINATOR, "/account/second-factor"),
    Page("two-step verification refused", COORDINATOR, "/account/second-factor", _send_empty_form),
    Page("recovery codes", STAFF, "/account/second-factor", _turn_on_two_step_verification),
    Page("new recovery codes asks for the password", STAFF, "/account/second-factor/recovery-codes"),
    # allocations and the meeting structure
    Page("allocations", COORDINATOR, "/allocations/"),
    Page("allocation plan", COORDINATOR, "/allocations/plan"),
    Page("allocation plan cell editor", COORDINATOR, "/allocations/plan", _open_a_plan_cell),
    Page("new allocation refused", COORDINATOR, "/allocations/new", _send_empty_form),
    Page("release", COORDINATOR, "/allocations/{allocation}/release"),
    Page("release refused", COORDINATOR, "/allocations/{allocation}/release", _send_empty_form),
    Page("book from the plan", COORDINATOR, "/allocations/book?resource_id={resource}&day={day}"),
    Page("allocation settings", COORDINATOR, "/allocations/settings"),
    Page("utilization", COORDINATOR, "/allocations/utilization"),
    Page("meeting series", COORDINATOR, "/meetings/series"),
    Page("meeting series refused", COORDINATOR, "/meetings/series", _send_empty_form),
    Page("meeting series detail", COORDINATOR, "/meetings/series/{series}"),
    Page("allocation plan (staff)", STAFF, "/allocations/plan"),
    Page("allocations (staff)", STAFF, "/allocations/"),
    Page("my meetings", STAFF, "/meetings/"),
    Page("meeting agenda and minutes", COORDINATOR, "/meetings/occurrences/{meeting_work}"),
    Page("meeting agenda item refused", COORDINATOR, "/meetings/occurrences/{meeting_work}", _send_empty_form),
    Page("approved minutes shared with staff", STAFF, "/meetings/occurrences/{meeting_minutes}"),
    # seminars
    Page("seminars", COORDINATOR, "/seminars/"),
    Page("seminar (coordinator)", COORDINATOR, "/seminars/{seminar}"),
    Page("draft seminar", COORDINATOR, "/seminars/{draft}"),
    Page("new seminar refused", COORDINATOR, "/seminars/new", _send_empty_form),
    Page("edit seminar", COORDINATOR, "/seminars/{seminar}/edit"),
    Page("attendance list", COORDINATOR, "/seminars/{seminar}/attendance"),
    Page("printable list", COORDINATOR, "/seminars/{seminar}/print"),
    Page("seminar report", COORDINATOR, "/seminars/{seminar}/report"),
    Page("session form", COORDINATOR, "/seminars/{seminar}/sessions/{session}/edit"),
    Page("session form refused", COORDINATOR, "/seminars/{seminar}/sessions/{session}/edit", _clear_the_title),
    Page("check-in of a later day", COORDINATOR, "/seminars/{training}/attendance/{training_day}"),
    Page("evaluate before the end", COORDINATOR, "/seminars/{seminar}/evaluate"),
    Page("evaluate", COORDINATOR, "/seminars/{ended}/evaluate"),
    Page("evaluate refused", COORDINATOR, "/seminars/{ended}/evaluate", _send_empty_form),
    Page("yearly plan", COORDINATOR, "/seminars/plan/"),
    Page("yearly plan, tasks not done", COORDINATOR, "/seminars/plan/?show=tasks&status=open"),
    Page("new plan task refused", COORDINATOR, "/seminars/plan/tasks/new", _send_empty_form),
    Page("edit plan task", COORDINATOR, "/seminars/plan/tasks/{plan_task}/edit"),
    Page("my tasks", STAFF, "/seminars/tasks/mine"),
    Page("mail outbox", COORDINATOR, "/mail/outbox"),
    Page("seminars (staff)", STAFF, "/seminars/"),
    Page("seminar (staff)", STAFF, "/seminars/{seminar}"),
    Page("public seminars", None, "/seminars/public/"),
    Page("public seminar", None, "/seminars/public/{public}"),
    Page("public seminar refused", None, "/seminars/public/{public}", _send_empty_form),
    Page("guest registration", None, "/seminars/r/{guest_token}"),
    Page("guest registration with sessions", None, "/seminars/r/{session_guest_token}"),
    Page("guest evaluation", None, "/seminars/r/{ended_guest_token}/evaluate"),
    Page("evaluation from the mail", None, "/seminars/e/{evaluation_token}"),
    Page("send my link again", None, "/seminars/public/link"),
    Page("send my link again refused", None, "/seminars/public/link", _send_empty_form),
    Page("an old guest link", None, "/seminars/r/no-longer-valid", status=404),
    # bookings
    Page("booking grid (day)", STAFF, "/bookings/?site={site}&view=day&day={day}"),
    Page("booking grid (week)", STAFF, "/bookings/?site={site}&view=week&day={day}"),
    Page("booking form in the grid", STAFF, "/bookings/?site={site}&view=week&day={day}",
         _open_a_free_grid_cell),
    Page("booking form", STAFF, "/bookings/new?resource={resource}&day={day}&start=09:00"),
    Page("booking form refused", STAFF, "/bookings/new?resource={resource}&day={day}",
         _send_an_empty_booking),
    Page("my bookings", STAFF, "/bookings/mine"),
    Page("find a free room", STAFF, "/bookings/find"),
    Page("find a free room: free", STAFF, "/bookings/find?site={site}&day={later}&start=13:00&end=14:00&people=4"),
    Page("find a free room: nothing then", STAFF,
         "/bookings/find?site={site}&day={day}&start=05:00&end=06:00&people=2&kind=room"),
    Page("find a free room refused", STAFF, "/bookings/find?site={site}&day=2026-13-45&start=10:00",
         status=422),
    Page("booking form says taken", STAFF, "/bookings/new?resource={resource}&day={day}&start=05:00"),
    Page("one booking", COORDINATOR, "/bookings/occurrences/{occurrence}"),
    Page("audit log", COORDINATOR, "/audit/"),
    # working hours, trepartssamtal, calendar feeds
    Page("working hours", STAFF, "/availability/"),
    Page("working hours refused", STAFF, "/availability/", _send_bad_opening_hours),
    Page("trepartssamtal", STAFF, "/trepartssamtal/"),
    Page("new trepartssamtal", STAFF, "/trepartssamtal/new"),
    Page("trepartssamtal proposals", STAFF, "/trepartssamtal/new", _find_times_with_ali),
    Page("trepartssamtal refused", STAFF, "/trepartssamtal/new", _find_times_alone),
    Page("one trepartssamtal", STAFF, "/trepartssamtal/{meeting}"),
    Page("reschedule trepartssamtal", STAFF, "/trepartssamtal/{meeting}/reschedule"),
    Page("trepartssamtal statistics", COORDINATOR, "/trepartssamtal/statistics"),
    Page("reports: cases and trepartssamtal", COORDINATOR, "/reports/?by=week"),
    Page("half-year report", COORDINATOR, "/reports/half-year"),
    Page("calendar feeds", STAFF, "/feeds/"),
    Page("calendar feed link made", STAFF, "/feeds/", _make_a_feed_link),
    # who does what
    Page("who does what", STAFF, "/directory"),
    Page("who does what: live search", STAFF, "/directory", _search_the_directory),
    Page("who does what: nobody found", STAFF, "/directory?q=zzzz"),
    Page("own directory entry", STAFF, "/directory/people/{sara}/edit"),
    Page("own directory entry refused", STAFF, "/directory/people/{sara}/edit", _send_a_bad_phone),
    Page("describe a unit", COORDINATOR, "/directory/units/{unit}/edit"),
    # door screens
    Page("door screens", COORDINATOR, "/door-screens/"),
    Page("door screen link made", COORDINATOR, "/door-screens/", _make_a_door_link),
    Page("door screen", None, "/door/{door_token}"),
    Page("revoked door screen", None, "/door/{revoked_door_token}", status=410),
    Page("check-in settings", COORDINATOR, "/check-in/settings"),
    # floor plans
    Page("floor plans", COORDINATOR, "/floor-plans/"),
    Page("floor plans (staff)", STAFF, "/floor-plans/"),
    Page("floor plan", STAFF, "/floor-plans/{floor_plan}?day={later}&time=10:00"),
    Page("floor plan booking panel", STAFF, "/floor-plans/{floor_plan}?day={later}&time=10:00",
         _open_a_free_place),
    Page("floor plan booking refused", STAFF, "/floor-plans/{floor_plan}?day={later}&time=10:00",
         _book_a_place_at_a_bad_time),
    Page("floor plan closed", STAFF, "/floor-plans/{floor_plan}?day={later}&time=21:00"),
    Page("upload a floor plan refused", COORDINATOR, "/floor-plans/new", _send_empty_form),
    Page("place rooms and desks", COORDINATOR, "/floor-plans/{floor_plan}/places"),
    # Last of the staff member's rows: it logs out (two-step verification is on since above).
    Page("login code", STAFF, "/account/", _log_in_again_to_the_code_step),
]


def _ids(live) -> dict:
    with live.app_context():
        coordinator = db.session.scalar(select(User).where(User.email == COORDINATOR))
        invited = accounts.create_user(
            email="invited@drivhuset.example", name="Inez Inbjuden",
            agency_id=coordinator.agency_id, role=Role.staff,
        )
        db.session.flush()
        ids = {
            "token": accounts.create_invitation(invited, coordinator),
            "site": db.session.scalar(select(Site.id).where(Site.name == "Drivhuset")),
            "resource": db.session.scalar(select(Resource.id).order_by(Resource.id)),
            "agency": db.session.scalar(select(Agency.id).where(Agency.short_name == "Kommunen")),
            **_feature_ids(coordinator),
            **_door_tokens(coordinator),
            "floor_plan": db.session.scalar(select(FloorPlan.id)),
        }
        db.session.commit()
        db.session.remove()
    return ids


def _feature_ids(coordinator) -> dict:
    """Allocations, meetings and seminars of the demo, a guest's link and the coordinator's
    own registration (the evaluation page needs one)."""
    public = db.session.scalar(select(Seminar.id).where(Seminar.audience == Audience.public))
    internal = db.session.scalar(select(Seminar.id).where(
        Seminar.audience == Audience.internal, Seminar.state == SeminarState.published))
    registration.register_staff(internal, coordinator)
    guest = registration.register_guest(public, name="Gustav Gäst", organisation="Oxelösunds Hamn",
                                        email="gustav@example.org")
    sara, ali = (db.session.scalar(select(User).where(User.email == f"{name}@drivhuset.example"))
                 for name in ("sara.berg", "ali.yusuf"))
    search = trepartssamtal.Search(participants=[sara, ali], booked_by=sara, first_day=today_local(),
                                   last_day=today_local() + timedelta(days=13), site=db.session.scalar(
                                       select(Site).where(Site.name == "Drivhuset")))
    meeting = trepartssamtal.book_proposal(
        search, trepartssamtal.find_proposals(search, limit=1)[0].key, reference="QZ-4711",
        consent=trepartssamtal.ConsentInput(given=True, given_on=today_local(),
                                            agency_ids={sara.agency_id, ali.agency_id}))
    allocation = db.session.scalar(select(Allocation).order_by(Allocation.id))
    session = db.session.scalar(select(SeminarSession).where(SeminarSession.sign_up.is_(True)))
    session_guest = registration.register_guest(session.seminar_day.seminar_id, name="Sigrid Gäst",
                                                organisation="Oxelösunds Hamn", email="sigrid@example.org")
    registration.sign_up_for_session(session_guest.registration.id, session.id)
    training = db.session.scalar(select(Seminar).where(Seminar.kind == SeminarKind.training))
    ended = _ended_seminar(coordinator)
    return {
        "session": db.session.scalar(select(SeminarSession.id).join(SeminarDay).where(
            SeminarDay.seminar_id == internal).order_by(SeminarSession.id)),
        "session_guest_token": session_guest.token,
        "training": training.id, "training_day": training.days[1].id, **ended,
        "allocation": allocation.id, "day": today_local().isoformat(),
        "later": _open_day_after(today_local()).isoformat(),
        "series": db.session.scalar(select(MeetingSeries.id).order_by(MeetingSeries.id)),
        **_meeting_ids(),
        "seminar": internal, "public": public, "guest_token": guest.token,
        "draft": db.session.scalar(select(Seminar.id).where(Seminar.state == SeminarState.draft)),
        "meeting": meeting.id, "sara": sara.id,
        "unit": db.session.scalar(select(Unit.id).where(Unit.name == "Arbetsmarknadsenheten")),
        "plan_task": db.session.scalar(select(PlanTask.id).order_by(PlanTask.id)),
        "occurrence": db.session.scalar(select(ReservationOccurrence.id).order_by(ReservationOccurrence.id)),
    }


def _door_tokens(coordinator) -> dict:
    """A door screen's link for the first demo room, and a revoked one."""
    room = db.session.scalar(select(Resource).where(Resource.kind == ResourceKind.room).order_by(Resource.id))
    _screen, token = doorscreens.create_screen(room, "Surfplatta", True, coordinator)
    revoked, revoked_token = doorscreens.create_screen(room, "Gammal surfplatta", False, coordinator)
    doorscreens.revoke_screen(revoked, coordinator)
    return {"door_token": token, "revoked_door_token": revoked_token}


def _meeting_ids() -> dict:
    """The demo's steering-group meetings: the coming one's agenda, the held one's minutes
    (shared with all staff; early in a term there is none yet, and the coming one stands in)."""
    work = db.session.scalar(select(MeetingOccurrence.id).where(
        MeetingOccurrence.minutes_status == MinutesStatus.draft))
    minutes = db.session.scalar(select(MeetingOccurrence.id).where(
        MeetingOccurrence.minutes_status == MinutesStatus.approved))
    if minutes is None:
        db.session.get(MeetingOccurrence, work).minutes_shared_with_staff = True
        db.session.get(MeetingOccurrence, work).minutes_status = MinutesStatus.approved
        minutes = work
    return {"meeting_work": work, "meeting_minutes": minutes}


def _open_day_after(day):
    """The next weekday after `day` that is no public holiday (Drivhuset is open)."""
    from office.premises.rules import public_holiday

    day += timedelta(days=1)
    while day.weekday() > 4 or public_holiday(day):
        day += timedelta(days=1)
    return day


def _ended_seminar(coordinator) -> dict:
    """A public seminar that ended yesterday, with the coordinator and a guest taking part:
    its evaluation pages are open."""
    yesterday = today_local() - timedelta(days=1)
    seminar = Seminar(title="Studiebesök i hamnen", kind=SeminarKind.study_visit, audience=Audience.public,
                      venue_kind=VenueKind.external, external_address="Hamnvägen 1, Oxelösund", capacity=20,
                      state=SeminarState.published, created_by_id=coordinator.id)
    seminar.days.append(SeminarDay(day=yesterday, start_time=time(9), end_time=time(11)))
    db.session.add(seminar)
    db.session.flush()
    registration.register_staff(seminar.id, coordinator)
    guest = registration.register_guest(seminar.id, name="Greta Gäst", organisation="Föreningen",
                                        email="greta@example.org")
    token, guest.registration.evaluation_token_hash = registration.new_token()
    return {"ended": seminar.id, "ended_guest_token": guest.token, "evaluation_token": token}


def _choose_language(page, language: str) -> None:
    page.goto("/login")
    if language == "en":
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")


def _log_in(page, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("form.narrow-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def _report(name: str, url: str, violations: list[dict]) -> str:
    lines = [f"{name} ({url}):"]
    for violation in violations:
        lines.append(f"  {violation['id']} [{violation['impact']}] {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')}"
                         .replace("\n", " "))
    return "\n".join(lines)


# The English pages share the Swedish pages' templates, styles and structure: what can differ
# is their words. So English runs the rules about words and language (names, labels, titles,
# lang attributes) and Swedish runs every WCAG 2.1 AA rule (contrast and structure included).
TEXT_RULES = ["html-has-lang", "html-lang-valid", "valid-lang", "document-title", "label",
              "link-name", "button-name", "input-button-name", "select-name", "empty-heading",
              "image-alt", "svg-img-alt", "role-img-alt", "aria-input-field-name",
              "aria-toggle-field-name", "frame-title"]
OPTIONS_BY_LANGUAGE = {
    "sv": AXE_OPTIONS,
    "en": {"runOnly": {"type": "rule", "values": TEXT_RULES}, "resultTypes": ["violations"]},
}


def _groups() -> dict[str, list[Page]]:
    """PAGES in parts of about 25 pages, one user each, so the parts spread over the workers."""
    by_user: dict[str | None, list[Page]] = {}
    for row in PAGES:
        by_user.setdefault(row.who, []).append(row)
    groups = {}
    for who, rows in by_user.items():
        name = {None: "public", STAFF: "staff", COORDINATOR: "coordinator"}[who]
        parts = max(1, round(len(rows) / 25))
        for n in range(parts):
            groups[f"{name}-{n + 1}"] = rows[n::parts]
    return groups


GROUPS = _groups()


@pytest.mark.timeout(600)  # axe over a part of the app's pages
@pytest.mark.parametrize("group", list(GROUPS))
@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_page_meets_wcag_21_aa(demo, open_page, language, group):
    rows = GROUPS[group]
    ids = _ids(demo)
    axe = Axe()
    problems = []
    page = open_page()
    _choose_language(page, language)
    if rows[0].who:
        _log_in(page, rows[0].who)
    for row in rows:
        response = page.goto(row.path.format(**ids))
        assert response.status == row.status, (row.name, page.url, response.status)
        if row.then:
            row.then(page)
        expect(page.locator("html")).to_have_attribute("lang", language)
        results = axe.run(page, options=OPTIONS_BY_LANGUAGE[language])
        if results.violations_count:
            problems.append(_report(row.name, page.url, results.response["violations"]))
    assert not problems, "axe-core " + Axe().axe_script[4:16] + " found:\n" + "\n".join(problems)


def test_the_parts_cover_every_page_once():
    assert sorted(id(row) for rows in GROUPS.values() for row in rows) == sorted(id(row) for row in PAGES)


def test_axe_runs_offline_and_finds_a_known_violation(open_page):
    """The harness itself: axe loads without network and reports what it should."""
    page = open_page()
    page.set_content('<html lang="sv"><title>t</title><main><h1>x</h1>'
                     '<input id="q"><img src="data:,"><p class="c">x</p></main></html>')
    results = Axe().run(page, options=AXE_OPTIONS)
    found = {violation["id"] for violation in results.response["violations"]}
    assert {"label", "image-alt"} <= found


def test_page_list_covers_every_page_template():
    """A new full-page template needs a row above (partials and base templates excepted)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    templates = {
        str(p.relative_to(root)) for p in root.rglob("*.html")
        if not p.name.startswith("_") and p.name != "base.html"
    }
    covered = {
        "accounts/login.html", "errors/error.html", "accounts/accept_invitation.html",
        "dashboard/start.html", "dashboard/administration.html", "premises/sites.html", "premises/site.html", "premises/site_form.html",
        "premises/resources.html", "premises/resource_form.html", "premises/agencies.html",
        "premises/agency_form.html", "accounts/users.html", "accounts/invite_user.html",
        "accounts/invitation_link.html", "accounts/change_password.html",
        "accounts/account.html", "accounts/second_factor.html", "accounts/recovery_codes.html",
        "accounts/confirm_password.html", "accounts/login_code.html",
        "allocations/list.html", "allocations/plan.html", "allocations/form.html",
        "allocations/release.html", "allocations/book.html",
        "allocations/settings.html", "allocations/utilization.html", "meetings/series_list.html",
        "meetings/series.html", "meetings/my_meetings.html", "meetings/occurrence.html",
        "seminars/list.html", "seminars/show.html", "seminars/form.html", "seminars/attendance.html",
        "seminars/print.html", "seminars/report.html", "seminars/evaluate.html", "seminars/year.html",
        "seminars/task_form.html", "seminars/my_tasks.html",
        "seminars/public_list.html", "seminars/public_seminar.html",
        "seminars/guest.html", "seminars/session_form.html", "seminars/resend_link.html",
        "seminars/link_unknown.html",
        "booking/grid.html", "booking/form.html", "booking/my_bookings.html", "booking/find.html",
        "booking/occurrence.html", "booking/audit_log.html", "availability/working_hours.html",
        "trepartssamtal/list.html", "trepartssamtal/new.html",
        "trepartssamtal/show.html", "trepartssamtal/reschedule.html",
        "trepartssamtal/statistics.html",
        "reports/statistics.html", "reports/half_year.html", "feeds/list.html", "mail/outbox.html",
        "notifications/preferences.html",
        "doorscreens/manage.html", "doorscreens/door.html", "doorscreens/revoked.html",
        "checkin/settings.html",
        "floorplans/index.html", "floorplans/plan.html", "floorplans/upload.html", "floorplans/places.html",
        "directory/index.html", "directory/edit_entry.html", "directory/edit_unit.html",
        "premises/closure_confirm.html",  # axe in tests/browser/test_closure_pages.py
    }
    assert templates - covered == set(), "add the page to PAGES and to `covered`"
