"""Hostile and random input to every form endpoint: never a 500, and a refusal saves nothing.

FORMS lists each POST endpoint with the role that may use it and plausible values for its
fields; hypothesis mixes those with hostile ones (over-long and control characters,
dates in year 1 and 9999, inverted opening hours, foreign and huge ids, markup, unicode,
repeated parameters). A POST endpoint without a row fails `test_every_form_endpoint_is_fuzzed`.

After each request: the status is below 500, and when it is a refusal (4xx) every table
holds exactly what it held before (apart from columns the refusal is meant to change,
e.g. the failed-login counter).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date

import pytest
import sqlalchemy as sa
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from office.accounts import rules as accounts
from office.accounts.models import LoginThrottle, Role, User
from office.core.extensions import db
from office.doorscreens import rules as doorscreens
from office.premises.models import Closure
from tests.conftest import PASSWORD, AuthActions, shared_world
from tests.feature_world import add_booking_features, add_features, add_floor_plan

ANONYMOUS = "anonymous"
# `make test` runs a few fixed examples per endpoint (seconds, never flaky); a deeper,
# random search: SAMLOKAL_FUZZ_EXAMPLES=500 pytest tests/test_bad_input.py
DEEP = bool(os.environ.get("SAMLOKAL_FUZZ_EXAMPLES"))
EXAMPLES = int(os.environ.get("SAMLOKAL_FUZZ_EXAMPLES") or 8)
HUGE_IDS = [0, 999_999, 2**31 - 1, 2**31, 2**63, 10**30]

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),  # any unicode, control characters included
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),
    st.sampled_from([
        "", " ", "\x00", "a\x00b", "\r\n", "\u202e\u2066evil", "\ufeff", "😀" * 60, "e\u0301" * 50,
        "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "' OR 1=1 --",
        "{{ 7*7 }}", "%(name)s", "%s%s%s", "../../etc/passwd", "null", "None", "true",
        "-1", "0", "1e309", "NaN", "2147483648", "99999999999999999999999",
        "0001-01-01", "9999-12-31", "0000-00-00", "2024-02-30", "10000-01-01", "-0001-01-01",
        "24:00", "23:59:60", "00:00", "25:61", "12:00:00.000001", "#ffffff", "#GGGGGG",
    ]),
    st.integers(min_value=121, max_value=6000).map(lambda n: "x" * n),  # over every limit
    st.integers().map(str),
    st.dates().map(date.isoformat),  # year 1 to 9999
    st.times().map(lambda t: t.isoformat()),
)



# A failed login or code is counted on purpose (office/accounts/throttle.py).
THROTTLE_COUNTS = frozenset({"login_throttle.key", "login_throttle.failures", "login_throttle.window_ends_at",
                             "login_throttle.blocked_until"})


@dataclass(frozen=True)
class Form:
    rule: str
    roles: tuple[str, ...]
    fields: dict[str, st.SearchStrategy] = field(default_factory=dict)
    # "table.column" a refusal may change on purpose (a failed login is counted).
    refusal_may_change: frozenset[str] = frozenset()


def _weekday_hours():
    hours = {}
    for weekday in range(7):
        hours[f"opens_{weekday}"] = st.sampled_from(["08:00", "17:00", ""])
        hours[f"closes_{weekday}"] = st.sampled_from(["17:00", "08:00", ""])  # may be inverted
    return hours


EMAILS = st.sampled_from(["staff@example.org", "new.person@example.org", "ADMIN@EXAMPLE.ORG", "a@b"])
NAMES = st.sampled_from(["Samtalsrum 9", "Arbetsförmedlingen", "Å", "Konferensrummet"])
BOOLEANS = st.sampled_from(["y", "n", "on", ""])
TIMES = st.sampled_from(["09:00", "12:00", "13:00", "16:30", "08:00"])
DAYS = st.sampled_from(["{day}", "2031-01-07", "2000-01-03"])
PERCENTS = st.sampled_from(["12.5", "100", "100.1", "-1", "nan", "sNaN", "inf", "1e309"])
TEXTS = st.sampled_from(["Arbetsplats", "Glutenfri", "Rullstol, hörslinga", "", "Å" * 300])
STAFF, ADMIN, COORDINATOR = Role.staff.value, Role.agency_admin.value, Role.coordinator.value
SEMINAR_FIELDS = {
    "title": NAMES, "kind": st.sampled_from(["employer_forum", "kick_off", "party"]),
    "description": TEXTS, "audience": st.sampled_from(["public", "internal", "secret"]),
    "invited_agencies": st.just("{agency_id}"), "audience_note": TEXTS,
    "venue_kind": st.sampled_from(["on_site", "external", "online", "hybrid"]),
    "external_address": NAMES, "online_url": st.sampled_from(["https://meet.example/x", "javascript:alert(1)", ""]),
    "capacity": st.sampled_from(["30", "0", "5001"]), "registration_deadline": DAYS,
}
ANSWERS = {"dietary_needs": TEXTS, "accessibility_needs": TEXTS,
           "attendance_mode": st.sampled_from(["on_site", "online", "teleport"])}
EVALUATION = {"rating": st.sampled_from(["1", "5", "0", "6"]), "comment": TEXTS}
TASK = {"title": NAMES, "description": TEXTS, "due_on": DAYS,
        "owner": st.sampled_from(["g:{series_id}", "u:{staff_id}", "x:1", "g:99999999999999", "u:"]),
        "remind_days": st.sampled_from(["14", "0", "-1", "366", "99999999999999999999"])}

SCOPES = st.sampled_from(["one", "following", "all", "none"])
BOOKING_FIELDS = {
    "title": NAMES, "resource_id": st.just("{resource_id}"), "day": DAYS, "start": TIMES, "end": TIMES,
    "attendees": st.sampled_from(["1", "0", "7", "2147483648", "99999999999999999999"]),
    "booked_for_id": st.sampled_from(["0", "{user_id}"]),
    "repeat": st.sampled_from(["none", "weekly", "every_other_week", "every_n_weeks", "monthly_nth_weekday",
                               "yearly"]),
    "interval": st.sampled_from(["3", "0", "53"]), "ends": st.sampled_from(["count", "until", "never"]),
    "count": st.sampled_from(["3", "0", "521"]), "until": DAYS,
    "seen_at": st.sampled_from(["2031-01-01T08:00:00+00:00", "2031-01-01T08:00:00", "yesterday"]),
    "partial": st.sampled_from(["Book the other dates", ""]),
}
MOMENTS = st.sampled_from(["2031-01-07T09:00", "2031-01-07T08:00", "2031-01-08T17:00",
                           "0001-01-01T00:00", "9999-12-31T23:59", "2031-01-07"])
MEETING_STATUSES = st.sampled_from(["held", "no_show", "cancelled_by_individual", "cancelled_by_staff",
                                    "booked", "x"])
TREPARTSSAMTAL_FIELDS = {
    "participants": st.sampled_from([["{staff_id}", "{partner_id}"], ["{staff_id}"], ["{partner_id}", "2147483648"]]),
    "minutes": st.sampled_from(["60", "45", "7"]), "mode": st.sampled_from(["on_site", "phone", "video", "x"]),
    "video_link": st.sampled_from(["https://meet.example/abc", "javascript:alert(1)", ""]),
    "site_id": st.sampled_from(["{site_id}", "0"]), "needs_accessible": BOOLEANS,
    "others": st.sampled_from(["1", "0", "6"]), "first_day": DAYS, "last_day": DAYS,
    "buffer_minutes": st.sampled_from(["15", "0", "121"]),
    "slot": st.sampled_from(["", "20310107T0800-1", "20310107T0807-0", "99999999T9999-999999999"]),
    "find": st.just("1"),
    "reference": st.sampled_from(["QZ-1", "19811218-9876", "", "Å" * 101]), "consent_given": BOOLEANS,
    "consent_given_on": DAYS, "consent_agencies": st.sampled_from([["{agency_id}", "{partner_agency_id}"], []]),
}

FORMS = [
    Form("/login", (ANONYMOUS,), {"email": EMAILS, "password": st.just(PASSWORD), "remember": BOOLEANS},
         THROTTLE_COUNTS),
    Form("/login/code", (ANONYMOUS,), {"code": st.sampled_from(["123456", "abcde-fghjk", ""])}, THROTTLE_COUNTS),
    Form("/language", (ANONYMOUS, Role.staff.value),
         {"language": st.sampled_from(["sv", "en"]), "next": st.sampled_from(["/sites/", "//evil"])}),
    Form("/logout", (Role.staff.value,)),
    Form("/password", (Role.staff.value,),
         {"current": st.just("not the password"), "password": st.just("a long new password"),
          "confirm": st.just("a long new password")}, THROTTLE_COUNTS),
    Form("/invitation/<token>", (ANONYMOUS,),
         {"password": st.just("a long new password"), "confirm": st.just("another long one")}),
    Form("/users/invite", (Role.coordinator.value, Role.agency_admin.value),
         {"name": NAMES, "email": EMAILS, "title": NAMES, "agency_id": st.just("{agency_id}"),
          "unit_id": st.just("{unit_id}"), "role": st.sampled_from(["staff", "agency_admin", "coordinator", "root"])}),
    Form("/users/<int:user_id>/invitation", (Role.coordinator.value, Role.agency_admin.value)),
    Form("/users/<int:user_id>/deactivate", (Role.coordinator.value, Role.agency_admin.value)),
    Form("/users/<int:user_id>/activate", (Role.coordinator.value, Role.agency_admin.value)),
    Form("/users/<int:user_id>/second-factor/reset", (COORDINATOR, ADMIN)),
    Form("/account/logout-everywhere", (STAFF,)),
    Form("/account/mail", (STAFF,), {"booked_for": BOOLEANS, "meetings": BOOLEANS, "trepartssamtal": BOOLEANS}),
    Form("/account/second-factor", (STAFF, ADMIN), {"code": st.sampled_from(["123456", "12 34 56", ""])}),
    Form("/account/second-factor/recovery-codes", (STAFF,), {"password": st.just(PASSWORD)}, THROTTLE_COUNTS),
    Form("/account/second-factor/remove", (STAFF,), {"password": st.just(PASSWORD)}, THROTTLE_COUNTS),
    Form("/agencies/new", (Role.coordinator.value,),
         {"name": NAMES, "short_name": st.sampled_from(["AF", "FK", "X" * 21]),
          "colour": st.sampled_from(["#1f5f8b", "#fff", "red"])}),
    Form("/agencies/<int:agency_id>/edit", (Role.coordinator.value,),
         {"name": NAMES, "short_name": st.sampled_from(["AF", "FK"]), "colour": st.just("#1f5f8b")}),
    Form("/agencies/<int:agency_id>/units", (Role.coordinator.value,), {"name": NAMES}),
    Form("/agencies/<int:agency_id>/units/<int:unit_id>/delete", (Role.coordinator.value,)),
    Form("/sites/new", (Role.coordinator.value,), {"name": NAMES, "address": NAMES, **_weekday_hours()}),
    Form("/sites/<int:site_id>/edit", (Role.coordinator.value,),
         {"name": NAMES, "address": NAMES, **_weekday_hours()}),
    Form("/sites/<int:site_id>/closures", (Role.coordinator.value,),
         {"day": st.dates().map(date.isoformat), "reason": NAMES}),
    Form("/sites/<int:site_id>/closures/<int:closure_id>/delete", (Role.coordinator.value,)),
    Form("/resources/new", (Role.coordinator.value,),
         {"name": NAMES, "site_id": st.just("{site_id}"), "kind": st.sampled_from(["room", "desk", "cell"]),
          "description": NAMES, "capacity": st.sampled_from(["1", "0", "1000", "1001", "-5"]),
          "is_conversation_room": BOOLEANS, "has_screen": BOOLEANS, "has_video": BOOLEANS,
          "accessible": BOOLEANS, "active": BOOLEANS}),
    Form("/resources/<int:resource_id>/edit", (Role.coordinator.value,),
         {"name": NAMES, "site_id": st.just("{site_id}"), "kind": st.just("desk"),
          "capacity": st.sampled_from(["2", "0"])}),
    # allocations
    Form("/allocations/new", (COORDINATOR,),
         {"agency_id": st.just("{agency_id}"), "resource_ids": st.just("{resource_id}"),
          "weekdays": st.sampled_from(["1", "3", "7"]), "start_time": TIMES, "end_time": TIMES,
          "pattern": st.sampled_from(["every_week", "odd_weeks", "every_n_weeks", "weeks_of_month", "x"]),
          "interval_weeks": st.sampled_from(["2", "0", "53"]), "weeks_of_month": st.sampled_from(["1", "L", "9"]),
          "term_id": st.sampled_from(["{term_id}", "0"]), "first_day": DAYS, "last_day": DAYS,
          "note": NAMES, "covered": st.sampled_from(["", "keep", "cancel", "explode"])}),
    Form("/allocations/<int:allocation_id>/delete", (COORDINATOR,),
         {"next": st.sampled_from(["/allocations/plan", "//evil.example", "/allocations/../x"])}),
    Form("/allocations/plan/cell/<int:resource_id>/<day>", (COORDINATOR,),
         {"agency_id": st.just("{agency_id}"), "start_time": TIMES, "end_time": TIMES,
          "pattern": st.sampled_from(["every_week", "odd_weeks", "even_weeks", "every_n_weeks"]),
          "covered": st.sampled_from(["", "keep", "cancel"])}),
    Form("/allocations/plan/copy", (COORDINATOR,), {"term_id": st.just("{term_id}")}),
    Form("/allocations/<int:allocation_id>/release", (ADMIN, COORDINATOR),
         {"first_day": DAYS, "last_day": DAYS}),
    Form("/allocations/book", (STAFF, COORDINATOR),
         {"resource_id": st.just("{resource_id}"), "day": DAYS, "start_time": TIMES, "end_time": TIMES,
          "title": NAMES}),
    Form("/allocations/settings/policy/<int:site_id>", (COORDINATOR,),
         {"working_days_before": st.sampled_from(["1", "0", "31", "-1"]), "release_time": TIMES}),
    Form("/allocations/settings/agency/<int:agency_id>", (ADMIN, COORDINATOR),
         {"staff_may_release": BOOLEANS}),
    Form("/allocations/settings/resource/<int:resource_id>", (COORDINATOR,), {"allocated_only": BOOLEANS}),
    Form("/allocations/settings/terms", (COORDINATOR,), {"year": st.sampled_from(["2031", "1999", "2101"])}),
    Form("/allocations/settings/terms/<int:term_id>", (COORDINATOR,), {"first_day": DAYS, "last_day": DAYS}),
    # meetings
    Form("/meetings/series", (COORDINATOR,),
         {"name": NAMES, "description": NAMES, "resource_id": st.just("{resource_id}"),
          "frequency": st.sampled_from(["weekly", "twice_per_term", "daily"]),
          "weekday": st.sampled_from(["0", "4", "6"]), "start_time": TIMES, "end_time": TIMES,
          "term_id": st.just("{term_id}")}),
    Form("/meetings/series/<int:series_id>/members", (COORDINATOR,),
         {"user_id": st.just("{user_id}"),
          "attendance": st.sampled_from(["every_meeting", "odd_weeks", "monthly", "never"])}),
    Form("/meetings/series/<int:series_id>/members/<int:member_id>/delete", (COORDINATOR,)),
    Form("/meetings/series/<int:series_id>/feed", (COORDINATOR,)),
    Form("/meetings/series/<int:series_id>/settings", (COORDINATOR,),
         {"settings-chair_id": st.sampled_from(["0", "{user_id}"]),
          "settings-proposal_days": st.sampled_from(["2", "0", "61", "-1"])}),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/items", (COORDINATOR, STAFF),
         {"item-title": NAMES, "item-owner_id": st.sampled_from(["0", "{user_id}"]),
          "item-minutes": st.sampled_from(["20", "0", "481"])}),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/items/<int:item_id>/accept", (COORDINATOR,)),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/items/<int:item_id>/delete", (COORDINATOR,)),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/notice", (COORDINATOR,)),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/minutes", (COORDINATOR,),
         {"minutes-notes": st.sampled_from(["Läget gicks igenom.", "Ärende 19811218-9876", ""]),
          "minutes-decisions": st.sampled_from(["Beslut ett\nBeslut två", "Å" * 501, ""]),
          "minutes-shared_with_staff": BOOLEANS}),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/actions", (COORDINATOR,),
         {"action-text": NAMES, "action-owner_id": st.sampled_from(["0", "{user_id}"]), "action-due_on": DAYS}),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/actions/<int:action_id>/done", (COORDINATOR, STAFF)),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/approve", (COORDINATOR,)),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/guests", (COORDINATOR, STAFF),
         {"guest-user_id": st.sampled_from(["0", "{user_id}"]), "guest-name": NAMES, "guest-organisation": NAMES,
          "guest-email": EMAILS}),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/guests/<int:guest_id>/delete", (COORDINATOR,)),
    Form("/meetings/occurrences/<int:meeting_occurrence_id>/cases", (COORDINATOR, STAFF),
         {"cases-1-women": st.sampled_from(["3", "0", "-1", "1001"]), "cases-2-unknown": st.just("12")}),
    # seminars
    Form("/seminars/new", (COORDINATOR,), SEMINAR_FIELDS),
    Form("/seminars/<int:seminar_id>/edit", (COORDINATOR,), SEMINAR_FIELDS),
    Form("/seminars/<int:seminar_id>/days", (COORDINATOR,),
         {"day": DAYS, "start_time": TIMES, "end_time": TIMES,
          "resource_id": st.sampled_from(["0", "{resource_id}"])}),
    Form("/seminars/<int:seminar_id>/days/<int:day_id>/delete", (COORDINATOR,)),
    Form("/seminars/<int:seminar_id>/days/<int:day_id>/sessions", (COORDINATOR,),
         {"day{day_id}-start_time": TIMES, "day{day_id}-end_time": TIMES, "day{day_id}-title": NAMES,
          "day{day_id}-room": NAMES, "day{day_id}-capacity": st.sampled_from(["10", "0", ""]),
          "day{day_id}-presenters": st.sampled_from(["Anna Lind, RAR", "Erik Holm, AF\nKarin, Kommunen", ","])}),
    Form("/seminars/<int:seminar_id>/sessions/<int:session_id>/delete", (COORDINATOR,)),
    Form("/seminars/<int:seminar_id>/<any(publish, cancel, finish):action>", (COORDINATOR,)),
    Form("/seminars/<int:seminar_id>/capacity", (COORDINATOR,), {"capacity": st.sampled_from(["1", "60", "0"])}),
    Form("/seminars/<int:seminar_id>/register", (STAFF, COORDINATOR), ANSWERS),
    Form("/seminars/<int:seminar_id>/unregister", (STAFF, COORDINATOR)),
    Form("/seminars/<int:seminar_id>/evaluate", (STAFF, COORDINATOR), EVALUATION),
    Form("/seminars/<int:seminar_id>/days/<int:day_id>/registrations/<int:registration_id>/check-in",
         (COORDINATOR,), {"present": st.sampled_from(["1", "0"])}),
    Form("/seminars/<int:seminar_id>/sessions/<int:session_id>/edit", (COORDINATOR,),
         {"start_time": TIMES, "end_time": TIMES, "title": NAMES, "room": NAMES,
          "capacity": st.sampled_from(["10", "0", ""]), "sign_up": BOOLEANS,
          "presenters": st.sampled_from(["Anna Lind, RAR", "Erik Holm, AF\nKarin, Kommunen", ","])}),
    Form("/seminars/<int:seminar_id>/sessions/<int:session_id>/<any('sign-up', leave):action>",
         (STAFF, COORDINATOR)),
    Form("/seminars/public/link", (ANONYMOUS,), {"email": EMAILS}),
    Form("/seminars/r/<token>/sessions/<int:session_id>/<any('sign-up', leave):action>", (ANONYMOUS,)),
    Form("/seminars/e/<token>", (ANONYMOUS,), EVALUATION),
    Form("/seminars/plan/<int:year>/copy", (COORDINATOR,),
         {"seminar": st.just("{seminar_id}"), "task": st.just("{task_id}")}),
    Form("/seminars/plan/feed", (COORDINATOR,), {"year": st.sampled_from(["2027", "0", "99999999999999999999"])}),
    Form("/seminars/plan/tasks/new", (COORDINATOR,), TASK),
    Form("/seminars/plan/tasks/<int:task_id>/edit", (COORDINATOR,), TASK),
    Form("/seminars/plan/tasks/<int:task_id>/delete", (COORDINATOR,)),
    Form("/seminars/plan/tasks/<int:task_id>/done", (STAFF, COORDINATOR),
         {"done": BOOLEANS, "back": st.sampled_from(["mine", "", "//evil.example"])}),
    Form("/seminars/public/<int:seminar_id>", (ANONYMOUS,),
         {"name": NAMES, "organisation": NAMES, "email": EMAILS, "locale": st.sampled_from(["sv", "en", "fi"]),
          **ANSWERS}),
    Form("/seminars/r/<token>", (ANONYMOUS,), {"locale": st.sampled_from(["sv", "en"]), **ANSWERS}),
    Form("/seminars/r/<token>/cancel", (ANONYMOUS,)),
    Form("/seminars/r/<token>/evaluate", (ANONYMOUS,), EVALUATION),
    # bookings
    Form("/bookings/new", (STAFF, COORDINATOR), BOOKING_FIELDS),
    Form("/bookings/occurrences/<int:occurrence_id>/change", (STAFF, COORDINATOR),
         {"scope": SCOPES, **{name: BOOKING_FIELDS[name] for name in ("title", "day", "start", "end", "attendees")}}),
    Form("/bookings/occurrences/<int:occurrence_id>/cancel", (STAFF, COORDINATOR), {"scope": SCOPES}),
    # availability
    Form("/availability/", (STAFF,), _weekday_hours()),
    Form("/availability/absences", (STAFF,),
         {"kind": st.sampled_from(["leave", "course", "other", "holiday"]), "starts": MOMENTS, "ends": MOMENTS}),
    Form("/availability/absences/<int:absence_id>/delete", (STAFF,)),
    # trepartssamtal
    Form("/trepartssamtal/new", (STAFF, COORDINATOR), TREPARTSSAMTAL_FIELDS),
    Form("/trepartssamtal/<int:meeting_id>/reschedule", (STAFF, COORDINATOR),
         {name: TREPARTSSAMTAL_FIELDS[name] for name in ("first_day", "last_day", "buffer_minutes", "slot",
                                                         "find")}),
    Form("/trepartssamtal/<int:meeting_id>/outcome", (STAFF, COORDINATOR), {"status": MEETING_STATUSES}),
    Form("/trepartssamtal/<int:meeting_id>/cancel", (STAFF, COORDINATOR), {"status": MEETING_STATUSES}),
    # calendar feeds
    Form("/feeds/", (STAFF, ADMIN, COORDINATOR),
         {"prefix": st.sampled_from(["personal", "agency", "resource", "series", ""]),
          "personal-kind": st.sampled_from(["personal", "agency"]),
          "agency-kind": st.just("agency"), "agency-target_id": st.just("{agency_id}"),
          "resource-kind": st.just("resource"), "resource-target_id": st.just("{resource_id}"),
          "personal-name": NAMES, "agency-name": NAMES, "resource-name": NAMES}),
    Form("/feeds/<int:token_id>/regenerate", (STAFF,)),
    Form("/feeds/<int:token_id>/revoke", (STAFF,)),
    # mail (office/core)
    Form("/mail/outbox/<int:mail_id>/retry", (COORDINATOR,)),
    # door screens
    Form("/door-screens/", (COORDINATOR,),
         {"resource_id": st.sampled_from(["{resource_id}", "0", "2147483648"]), "name": NAMES,
          "show_titles": BOOLEANS}),
    Form("/door-screens/<int:screen_id>/revoke", (COORDINATOR,)),
    Form("/door/<token>/book", (ANONYMOUS,), {"minutes": st.sampled_from(["15", "30", "60", "45", "0"])}),
    Form("/door/<token>/check-in", (ANONYMOUS,)),
    # check-in
    Form("/check-in/settings", (COORDINATOR,),
         {"room_required": BOOLEANS, "room_minutes": st.sampled_from(["15", "4", "121", "-1"]),
          "desk_required": BOOLEANS, "desk_minutes": st.sampled_from(["10", "0", "2147483648"])}),
    Form("/check-in/occurrences/<int:occurrence_id>", (STAFF, COORDINATOR)),
    # floor plans (files are posted as text here: the upload checks are in tests/test_floorplans.py)
    Form("/floor-plans/new", (COORDINATOR,),
         {"site_id": st.sampled_from(["{site_id}", "0", "2147483648"]), "name": NAMES, "image": NAMES,
          "pdf_page": st.sampled_from(["1", "0", "99999999999999999999"])}),
    Form("/floor-plans/<int:plan_id>/book", (STAFF, COORDINATOR),
         {"resource_id": st.sampled_from(["{resource_id}", "0", "2147483648", "99999999999999999999"]),
          "title": NAMES, "day": DAYS, "start": TIMES, "end": TIMES}),
    Form("/floor-plans/<int:plan_id>/places/<int:resource_id>", (COORDINATOR,),
         {"x": PERCENTS, "y": PERCENTS, "remove": st.just("1")}),
    Form("/floor-plans/<int:plan_id>/replace", (COORDINATOR,), {"image": NAMES, "pdf_page": st.just("2")}),
    Form("/floor-plans/<int:plan_id>/delete", (COORDINATOR,)),
    # who does what
    Form("/directory/people/<int:user_id>/edit", (STAFF, ADMIN, COORDINATOR),
         {"role": NAMES, "help_with": TEXTS, "email": EMAILS, "other_contact": TEXTS,
          "phone": st.sampled_from(["0155-123 45", "+46 (0)155 12345", "ring mig", "+" * 41]),
          "days_override": st.sampled_from(["Tisdagar", "", "Måndag 19811218-9876"])}),
    Form("/directory/units/<int:unit_id>/edit", (ADMIN, COORDINATOR), {"description": TEXTS}),
]
FORMS_BY_RULE = {form.rule: form for form in FORMS}


def test_every_form_endpoint_is_fuzzed(app):
    posts = {rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert sorted(posts - set(FORMS_BY_RULE)) == [], "add the new form endpoints to FORMS"
    assert sorted(set(FORMS_BY_RULE) - posts) == []


@pytest.fixture
def world(app, create_agency, create_user, create_site, create_resource):
    """Two agencies (ours and a foreign one) with staff, a site with a closure, a room,
    and one of each feature object for each agency.

    Built once per worker; each test gets the same rows back (conftest.shared_world)."""
    return shared_world(__name__, lambda: _build_world(create_agency, create_user, create_site,
                                                       create_resource))


def _build_world(create_agency, create_user, create_site, create_resource):
    ours = create_agency(units=["Enhet A"])
    foreign = create_agency(units=["Enhet B"])
    actors = {role.value: create_user(role=role, agency=ours) for role in Role}
    colleague = create_user(agency=ours)
    stranger = create_user(agency=foreign)
    site = create_site()
    room = create_resource(site=site)
    closure = Closure(site=site, day=date(2031, 1, 2), reason="Inventering")
    db.session.add(closure)
    token = accounts.create_invitation(colleague, actors[Role.coordinator.value])
    db.session.commit()
    coordinator = actors[COORDINATOR]
    mine = add_features(agency=ours, coordinator=coordinator, desk=room,
                        room=create_resource(site=site, name="Konferensrummet"),
                        members=[colleague], registered=[actors[STAFF]])
    theirs = add_features(agency=foreign, coordinator=coordinator, desk=create_resource(site=site),
                          room=create_resource(site=site, name="Grupprummet"),
                          members=[stranger], registered=[stranger])
    # A trepartssamtal needs two agencies: ours with the stranger; theirs with a third one.
    outsider = create_user(agency=create_agency())
    my_bookings = add_booking_features(
        site=site, room=create_resource(site=site, name="Samtalsrum 1"), booker=actors[STAFF],
        booked_for=colleague, participants=[actors[STAFF], actors[COORDINATOR], stranger])
    their_bookings = add_booking_features(
        site=site, room=create_resource(site=site, name="Samtalsrum 2"), booker=stranger,
        booked_for=stranger, participants=[stranger, outsider])
    both = (mine, theirs)
    ids = {
        "agency_id": [ours.id, foreign.id], "unit_id": [ours.units[0].id, foreign.units[0].id],
        "user_id": [colleague.id, stranger.id, actors[Role.agency_admin.value].id],
        "site_id": [site.id], "closure_id": [closure.id], "resource_id": [room.id],
        "term_id": [mine.term.id], "day": [mine.day.isoformat(), "9999-12-31", "0001-01-01", "2024-02-30"],
        "year": [mine.day.year, 1, 9999],
        **{name: [getattr(f, name) for f in both]
           for name in ("allocation_id", "series_id", "member_id", "seminar_id", "day_id",
                        "session_id", "mail_id", "meeting_occurrence_id", "item_id", "action_id",
                        "guest_id", "task_id")},
        "registration_id": [mine.guest_registration_id, *mine.registration_ids.values(),
                            theirs.guest_registration_id],
        **{name: [getattr(f, name) for f in (my_bookings, their_bookings)]
           for name in ("occurrence_id", "meeting_id", "absence_id")},
        "token_id": [my_bookings.feed_token_id, their_bookings.feed_token_id],
        "staff_id": [actors[STAFF].id], "partner_id": [stranger.id], "partner_agency_id": [foreign.id],
    }
    screen, door_token = doorscreens.create_screen(room, "Dörr", False, coordinator)
    db.session.commit()
    ids["screen_id"] = [screen.id]
    ids["plan_id"] = [add_floor_plan(site, [room], coordinator).id]
    db.session.commit()
    actor_ids = {role: user.id for role, user in actors.items()}
    return {"ids": ids, "token": token, "guest_token": mine.guest_token, "actors": actor_ids,
            "door_token": door_token,
            "password_hash": actors[Role.staff.value].password_hash}


def _restore_actors(world) -> None:
    """Undo what an accepted example did to the acting users, so the next one can log in."""
    db.session.execute(
        sa.update(User).where(User.id.in_(world["actors"].values())).values(
            active=True, password_hash=world["password_hash"])
    )
    db.session.execute(sa.delete(LoginThrottle))
    db.session.commit()


def _snapshot(ignored: frozenset[str]) -> dict:
    db.session.commit()
    tables = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if f"{table.name}.{c.name}" not in ignored]
        if not columns:
            continue
        rows = db.session.execute(sa.select(*columns)).all()
        tables[table.name] = sorted(repr(tuple(row)) for row in rows)
    db.session.commit()
    return tables


def _fill(value, ids):
    """Plausible values may name an id of the world: '{site_id}' becomes one of ours."""
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return str(ids[value[1:-1]][0])
    return value


@st.composite
def requests(draw, form: Form, world):
    role = draw(st.sampled_from(form.roles))
    path_values = {}
    for name in re.findall(r"<int:(\w+)>", form.rule):
        path_values[name] = draw(st.sampled_from(world["ids"][name] + HUGE_IDS))
    if "<day>" in form.rule:
        path_values["day"] = draw(st.sampled_from(world["ids"]["day"] + ["x", "%00", "2026-13-01"]))
    if "<any(publish, cancel, finish):action>" in form.rule:
        path_values["action"] = draw(st.sampled_from(["publish", "cancel", "finish"]))
    if "<any('sign-up', leave):action>" in form.rule:
        path_values["action"] = draw(st.sampled_from(["sign-up", "leave"]))
    if "<token>" in form.rule:
        secret = (world["guest_token"] if form.rule.startswith("/seminars/")
                  else world["door_token"] if form.rule.startswith("/door/") else world["token"])
        path_values["token"] = draw(st.sampled_from([secret, "nope", "x" * 300, "%00"]))
    data = {}
    for template, plausible in form.fields.items():
        # Prefixed fields (a day's programme form) carry the day's id in their names.
        name = template.format(**path_values) if "{" in template else template
        choice = draw(st.sampled_from(["plausible", "hostile", "omitted", "repeated"]))
        if choice == "plausible":
            data[name] = _fill(draw(plausible), world["ids"])
        elif choice == "hostile":
            data[name] = draw(HOSTILE_TEXT)
        elif choice == "repeated":  # parameter pollution: name=a&name=b
            data[name] = [draw(HOSTILE_TEXT), _fill(draw(plausible), world["ids"])]
    extra = draw(st.dictionaries(st.sampled_from(["id", "role", "agency_id", "is_admin", "password_hash"]),
                                 HOSTILE_TEXT, max_size=2))  # mass assignment attempts
    return role, path_values, {**extra, **data}


@pytest.mark.parametrize("rule", [form.rule for form in FORMS])
def test_hostile_form_input_never_breaks_anything(app, world, rule):
    form = FORMS_BY_RULE[rule]
    endpoint = next(r.endpoint for r in app.url_map.iter_rules() if r.rule == rule)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not DEEP, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(request=requests(form, world))
    def check(request):
        role, path_values, data = request
        _restore_actors(world)
        client = app.test_client()
        auth = AuthActions(client)
        if role == ANONYMOUS:
            auth.refresh_token()
        else:
            user = db.session.get(User, world["actors"][role])
            assert auth.login(user).status_code == 302
        with app.test_request_context():
            url = url_for(endpoint, **path_values)
        before = _snapshot(form.refusal_may_change)
        response = auth.post(url, data)
        assert response.status_code < 500, (url, data, response.status_code)
        if 400 <= response.status_code < 500:
            assert _snapshot(form.refusal_may_change) == before, (url, data, response.status_code)

    check()


@pytest.mark.parametrize("path", [
    "/allocations/plan?site={n}&week=9999-W99", "/allocations/book?resource_id={n}&day=0001-01-01",
    "/allocations/utilization?site_id={n}&term_id={n}&month=9999-12", "/allocations/utilization.csv?term_id={n}",
    "/seminars/plan/2031?agency={n}&kind=x", "/seminars/plan/2031?owner=g:{n}&status=done",
    "/seminars/plan/2031?owner=u:{n}&show=tasks", "/bookings/?site={n}&view=week&day=2031-01-07",
    "/bookings/new?resource={n}&day=2031-01-07", "/audit/?object_id={n}&actor_id={n}",
])
def test_huge_ids_in_query_strings_are_refused_not_a_500(app, world, path):
    """Query strings are read before any form validates them: numbers beyond the database's
    integer range must not reach the driver (PostgreSQL refuses them)."""
    client = app.test_client()
    assert AuthActions(client).login(db.session.get(User, world["actors"][COORDINATOR])).status_code == 302
    for n in HUGE_IDS:
        response = client.get(path.format(n=n))
        assert response.status_code < 500, (path, n, response.status_code)


EXTREME_DAYS = ["0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31"]


@pytest.mark.parametrize("rule, fields", [
    ("/bookings/new", {"resource_id": "{resource_id}", "title": "Möte", "start": "09:00", "end": "10:00",
                       "attendees": "1", "repeat": "weekly", "ends": "until", "day": None, "until": None}),
    ("/bookings/occurrences/{occurrence_id}/change", {"scope": "all", "start": "09:00", "end": "10:00",
                                                      "attendees": "1", "day": None}),
    ("/availability/absences", {"kind": "leave", "starts": None, "ends": None}),
    ("/trepartssamtal/new", {"participants": ["{staff_id}", "{partner_id}"], "minutes": "60", "mode": "phone",
                             "others": "1", "buffer_minutes": "0", "find": "1", "first_day": None,
                             "last_day": None}),
    ("/trepartssamtal/{meeting_id}/reschedule", {"buffer_minutes": "0", "find": "1", "first_day": None,
                                                 "last_day": None}),
])
def test_first_and_last_days_of_the_calendar_are_refused_not_a_500(app, world, rule, fields):
    """Every pair of the calendar's extreme days in the date fields (None above), the rest
    plausible: the edges of date arithmetic (timezones, a week or a series beyond 9999)."""
    auth = AuthActions(app.test_client())
    assert auth.login(db.session.get(User, world["actors"][STAFF])).status_code == 302
    url = rule.format(**{name: values[0] for name, values in world["ids"].items()})
    date_fields = [name for name, value in fields.items() if value is None]
    for first in EXTREME_DAYS:
        for last in EXTREME_DAYS:
            data = {name: _fill(value, world["ids"]) for name, value in fields.items() if value is not None}
            data.update(zip(date_fields, (first, last)))
            if rule == "/availability/absences":
                data = {**data, "starts": f"{first}T00:00", "ends": f"{last}T23:45"}
            before = _snapshot(frozenset())
            response = auth.post(url, data)
            assert response.status_code < 500, (url, data, response.status_code)
            if response.status_code >= 400:
                assert _snapshot(frozenset()) == before, (url, data)


@pytest.mark.parametrize("path", [
    "/bookings/?site={site_id}&view=week&day={day}", "/bookings/?site={site_id}&view=day&day={day}",
    "/bookings/new?resource={resource_id}&day={day}&start=23:45", "/audit/?date_from={day}&date_to={day}",
    "/trepartssamtal/statistics?from={day}&to={day}&by=week",
    "/trepartssamtal/statistics.csv?from={day}&to={day}&by=month",
])
def test_first_and_last_days_in_query_strings_are_not_a_500(app, world, path):
    """A week view or a statistics period at the calendar's very edges."""
    client = app.test_client()
    assert AuthActions(client).login(db.session.get(User, world["actors"][COORDINATOR])).status_code == 302
    ids = {name: values[0] for name, values in world["ids"].items()}
    for day in EXTREME_DAYS:
        response = client.get(path.format(**{**ids, "day": day}))
        assert response.status_code < 500, (path, day, response.status_code)
