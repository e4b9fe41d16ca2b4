"""Request logs without personal data, and /metrics only for the operators' scraper."""

from __future__ import annotations

import json
import logging
import re

import pytest

from office.accounts.models import Role
from office.core.observability import register_counter, register_gauge
from tests.conftest import PASSWORD, csrf_token_from

TOKEN = "a-long-random-metrics-token-for-the-scraper"
WITH_TOKEN = pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": TOKEN}], indirect=True)


def _request_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "samlokal.request"]


def test_log_line_has_route_and_user_but_no_personal_data(auth, create_user, caplog):
    user = create_user(email="karin.secret@example.org", name="Karin Hemlig")
    with caplog.at_level(logging.INFO, logger="samlokal.request"):
        auth.login(user)
        auth.login("karin.secret@example.org", password="a wrong but secret password")
        auth.client.get("/dashboard")
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("karin.secret", "example.org", "Karin Hemlig", PASSWORD, "a wrong but secret"):
        assert secret not in text
    lines = _request_lines(caplog)
    login = next(line for line in lines if line["method"] == "POST")
    assert login["route"] == "/login" and login["status"] == 302
    assert set(login) == {"method", "route", "endpoint", "status", "duration_ms", "user_id"}
    assert lines[-1]["route"] == "/dashboard" and lines[-1]["user_id"] == user.id


def test_paths_with_tokens_are_logged_as_their_rule(client, caplog):
    with caplog.at_level(logging.INFO, logger="samlokal.request"):
        client.get("/invitation/secret-token-in-the-path")
    (line,) = _request_lines(caplog)
    assert line["route"] == "/invitation/<token>" and "secret-token" not in json.dumps(line)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
@WITH_TOKEN
def test_metrics_are_refused_without_the_token(client, headers):
    assert client.get("/metrics", headers=headers).status_code == 404


def test_metrics_are_off_when_no_token_is_configured(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@WITH_TOKEN
def test_metrics_count_requests_per_route_and_status(client):
    client.get("/login")
    client.get("/no/such/page")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    body = response.get_data(as_text=True)
    assert "# TYPE samlokal_http_requests_total counter" in body
    assert 'samlokal_http_requests_total{method="GET",route="/login",status="200"}' in body
    assert 'route="unmatched",status="404"' in body
    assert 'samlokal_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/login",status="200"}' in body
    assert response.headers["Cache-Control"] == "no-store"


@WITH_TOKEN
def test_features_register_gauges_and_counters(client, create_user):
    create_user(role=Role.staff)
    from sqlalchemy import func, select

    from office.accounts.models import User
    from office.core.extensions import db

    register_gauge("samlokal_test_accounts", "Accounts (a gauge that queries the database).",
                   lambda: db.session.scalar(select(func.count()).select_from(User)))
    register_gauge("samlokal_test_by_kind", "Labelled gauge.", lambda: {("room",): 3, ("desk",): 2},
                   labelnames=["kind"])
    register_gauge("samlokal_test_broken", "A failing gauge is left out.", lambda: 1 / 0)
    conflicts = register_counter("samlokal_test_conflicts", "Refused bookings.")
    assert register_counter("samlokal_test_conflicts", "again") is conflicts
    before = conflicts._value.get()
    conflicts.inc(2)
    body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert "samlokal_test_accounts 1.0" in body
    assert 'samlokal_test_by_kind{kind="room"} 3.0' in body
    assert "samlokal_test_broken" not in body
    assert f"samlokal_test_conflicts_total {before + 2}" in body


@pytest.mark.timeout(600)  # starts real servers: minutes on a busy machine
@pytest.mark.slow
def test_metrics_sum_over_gunicorn_workers(app, database_url, tmp_path):
    """Multiprocess mode with deploy/gunicorn.conf.py: any worker reports every worker's count."""
    import re
    from urllib.request import Request, urlopen

    from tests.servers import gunicorn_servers

    environment = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "METRICS_TOKEN": TOKEN}

    def pages_counted(base: str) -> float:
        scrape = Request(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        body = urlopen(scrape, timeout=60).read().decode()
        match = re.search(r'samlokal_http_requests_total\{method="GET",route="/seminars/public/link",'
                          r'status="200"\} (\S+)', body)
        return float(match.group(1)) if match else 0.0

    with gunicorn_servers(1, database_url, tmp_path, workers=3, **environment) as (base,):
        # Not /login: a readiness probe that timed out on a busy machine may still be counted
        # after `before` is read.
        before = pages_counted(base)
        for _ in range(30):
            urlopen(base + "/seminars/public/link", timeout=60).read()
        seen = {pages_counted(base) for _ in range(6)}
    assert seen == {before + 30}  # whichever worker answered each scrape


@WITH_TOKEN
def test_every_blueprint_logs_one_line_per_request_without_personal_data(
        auth, client, caplog, create_user, create_site, create_resource):
    """Bookings, allocations, meetings, availability, trepartssamtal and seminars, as people use them."""
    from datetime import time

    from seminars.models import Audience
    from tests.calendar_days import ordinary_day
    from tests.seminar_factories import make_seminar

    coordinator = create_user(role=Role.coordinator, email="greta.personlig@example.org",
                              name="Greta Personlig")
    site = create_site(opens=time(8), closes=time(17))
    room = create_resource(site=site, name="Rum Ek")
    seminar = make_seminar(coordinator, audience=Audience.public, title="Forum")
    day = ordinary_day(days_ahead=14)
    booking = {"title": "Samtal", "resource_id": room.id, "day": day.isoformat(), "start": "10:00",
               "end": "11:00", "attendees": 1, "booked_for_id": 0, "repeat": "none",
               "ends": "count", "count": 1}
    pages = [f"/bookings/?site={site.id}&view=week&day={day}", "/bookings/mine", f"/bookings/new?resource={room.id}", "/allocations/plan",
             "/meetings/", "/availability/", "/trepartssamtal/", "/seminars/",
             f"/seminars/{seminar.id}", f"/seminars/plan/{day.year}"]
    with caplog.at_level(logging.INFO, logger="samlokal.request"):
        auth.login(coordinator)
        for page in pages:
            assert auth.client.get(page).status_code == 200, page
        assert auth.post("/bookings/new", booking).status_code == 302
        assert auth.post("/bookings/new", booking).status_code == 409  # the slot is taken now
        guest = client.application.test_client()
        html = guest.get(f"/seminars/public/{seminar.id}").get_data(as_text=True)
        guest.post(f"/seminars/public/{seminar.id}", data={
            "csrf_token": csrf_token_from(html), "name": "Hemlig Gäst", "organisation": "SSAB",
            "email": "hemlig.gast@example.se", "locale": "sv", "attendance_mode": "on_site"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("greta.personlig", "Greta Personlig", "Hemlig Gäst", "hemlig.gast", "SSAB",
                   PASSWORD):
        assert secret not in text
    lines = _request_lines(caplog)
    assert len(lines) == 3 + len(pages) + 2 + 2  # login (GET, POST, dashboard), pages, bookings, guest
    assert all(set(line) == {"method", "route", "endpoint", "status", "duration_ms", "user_id"}
               and line["duration_ms"] >= 0 for line in lines)
    staff_lines = lines[3:-2]
    assert [line["route"].split("?")[0] for line in staff_lines[:len(pages)]] == [
        "/bookings/", "/bookings/mine", "/bookings/new", "/allocations/plan", "/meetings/",
        "/availability/", "/trepartssamtal/", "/seminars/", "/seminars/<int:seminar_id>",
        "/seminars/plan/<int:year>"]
    assert {line["user_id"] for line in staff_lines} == {coordinator.id}
    assert [(line["method"], line["status"]) for line in staff_lines[-2:]] == [("POST", 302), ("POST", 409)]
    guest_lines = lines[-2:]
    assert [line["route"] for line in guest_lines] == ["/seminars/public/<int:seminar_id>"] * 2
    assert {line["user_id"] for line in guest_lines} == {None}

    body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert re.search(r'samlokal_booking_conflicts_total\{reason="taken"\} [1-9]', body)
    assert re.search(r"^samlokal_mail_queue_length [1-9]", body, re.MULTILINE)  # the confirmations


def test_booking_conflicts_are_counted_where_they_are_made(app, create_user, create_resource):
    from datetime import date

    from office.booking import rules as booking
    from office.booking.rules import BookingConflict, BookingRefused

    before = {reason: booking.BOOKING_CONFLICTS.labels(reason)._value.get()
              for reason in ("taken", "just_taken")}
    with pytest.raises(BookingConflict):
        raise booking.refusal([booking.problem("just_taken")])
    with pytest.raises(BookingRefused) as refused:
        raise booking.refusal([booking.problem("empty_title"), booking.problem("just_taken")])
    assert refused.value.status == 422  # bad input too: not a conflict, not counted
    BookingConflict([booking.problem("taken", date(2026, 3, 30), start="10:00", end="11:00")])
    assert booking.BOOKING_CONFLICTS.labels("just_taken")._value.get() == before["just_taken"] + 1
    assert booking.BOOKING_CONFLICTS.labels("taken")._value.get() == before["taken"] + 1
