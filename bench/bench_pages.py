"""The page frame: what a light authenticated page costs in process, beside Flask's hello-world.

Every HTML page pays the same frame before its own work: the login check (Flask-Login's
user loader reads the login session), the session and its CSRF token, Babel's locale, the
base template with its navigation and ~20 translated strings, the transaction boundary,
the security headers and the request's log line and metrics. This bench times light pages
whose own work is small, so what it measures is mostly that frame:

- /bench/frame (a view added here: the base template and nothing else, behind the login),
- /password (the password form: no query of its own),
- /bookings/mine (a staff member's bookings: one query),
- /bookings/new (the booking form: the rooms and people as choices),
- /seminars/ (the seminars list),
- /login, not logged in (the frame without a user),

each as p50 over BENCH_RUNS requests through Flask's test client on SQLite with the demo
data, beside the p50 of Flask's hello-world (bench/_common.py) measured in the same run,
interleaved so a busy machine slows both alike; then what one `_()` costs in a template.
`--profile PATH` prints the cProfile of that page instead (by own time, then cumulative).

    .venv/bin/python bench/bench_pages.py [--quick] [--profile /password] [--language en]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import hello  # noqa: E402
from bench.summary import record  # noqa: E402

PAGES = ("/bench/frame", "/password", "/bookings/mine", "/bookings/new", "/seminars/")
STAFF_EMAIL = "sara.berg@drivhuset.example"


def make_app(url: str):
    import logging

    from flask_migrate import upgrade

    from wsgi import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "PASSWORD_HASH_TIME_COST": 1,
                      "PASSWORD_HASH_MEMORY_COST": 8})
    with app.app_context():
        upgrade()
        from office.core.extensions import db
        from office.demo.seed import seed_demo

        seed_demo()
        db.session.commit()
    # The frame alone: a logged-in page with nothing but the base template.
    from flask import render_template
    from flask_login import login_required

    template = app.jinja_env.from_string(
        "{% extends 'base.html' %}{% block title %}Frame{% endblock %}")

    def frame():
        return render_template(template)

    app.add_url_rule("/bench/frame", "bench_frame", login_required(frame))
    # The request log goes where gunicorn sends it in production; here it would only fill
    # the terminal. The line is still built (json.dumps) and handed to logging.
    logging.getLogger("samlokal.request").propagate = False
    return app


def logged_in_client(app, email: str, language: str):
    import re

    from office.demo.seed import DEMO_PASSWORD

    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.status_code
    if language != "sv":
        html = client.get("/password").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        client.post("/language", data={"language": language, "next": "/",
                                       "csrf_token": token})
    return client


def get(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    response.get_data()
    return response


def measure(pages, runs: int) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU milliseconds per request, each page interleaved with hello-world."""
    hello_client = hello.test_client()
    pages = [("hello-world", hello_client, "/")] + pages
    samples: dict[str, tuple[list[float], list[float]]] = {}
    for name, client, path in pages:
        samples[name] = ([], [])
        for _ in range(20):  # warm: templates compiled, caches filled
            get(client, path)
    for _ in range(runs):
        for name, client, path in pages:
            wall, cpu = time.perf_counter(), time.process_time()
            get(client, path)
            samples[name][0].append((time.perf_counter() - wall) * 1000)
            samples[name][1].append((time.process_time() - cpu) * 1000)
    return samples


def per_template_string_us(app) -> float:
    """Microseconds a template's `_()` adds over the same text written out: 20 of each,
    rendered in a logged-in request (the catalogue loaded), best of three rounds."""
    import timeit

    from flask import session

    translated = app.jinja_env.from_string("{{ _('Log out') }}" * 20)
    literal = app.jinja_env.from_string("{{ 'Log out' }}" * 20)
    with app.test_request_context("/"):
        session["locale"] = "sv"
        translated.render()
        literal.render()
        n = 2000
        with_strings = min(timeit.repeat(translated.render, number=n, repeat=3)) / n
        without = min(timeit.repeat(literal.render, number=n, repeat=3)) / n
    return (with_strings - without) / 20 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--profile", metavar="PATH", help="print the cProfile of this page")
    parser.add_argument("--language", default="sv", choices=("sv", "en"))
    args = parser.parse_args()
    runs = args.runs or int(os.environ.get("BENCH_RUNS", "100" if args.quick else "300"))

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(f"sqlite:///{tmp}/pages.sqlite3")
        staff = logged_in_client(app, STAFF_EMAIL, args.language)
        anonymous = app.test_client()
        if args.profile:
            for _ in range(50):
                get(staff, args.profile)
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(runs):
                get(staff, args.profile)
            profile.disable()
            profile.dump_stats(os.environ.get("BENCH_PROFILE_OUT", "/tmp/bench_pages.prof"))
            stats = pstats.Stats(profile).strip_dirs()
            print(f"{args.profile}: {runs} requests")
            stats.sort_stats("tottime").print_stats(45)
            stats.sort_stats("cumulative").print_stats(70)
            return
        pages = [(path, staff, path) for path in PAGES] + [("/login", anonymous, "/login")]
        samples = measure(pages, runs)
        string_us = per_template_string_us(app)

    floor_wall = statistics.median(samples["hello-world"][0])
    floor_cpu = statistics.median(samples["hello-world"][1])
    print(f"{runs} requests per page, {args.language}, SQLite, test client, interleaved with "
          f"hello-world: p50 {floor_wall * 1000:.0f} µs wall, {floor_cpu * 1000:.0f} µs CPU")
    print(f"{'page':<18} {'wall p50':>9} {'p90':>7} {'× hello':>8} {'CPU p50':>8} {'× hello':>8}")
    for name, (walls, cpus) in samples.items():
        if name == "hello-world":
            continue
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        p90 = statistics.quantiles(walls, n=10)[8]
        print(f"{name:<18} {wall:9.2f} {p90:7.2f} {wall / floor_wall:8.1f} {cpu:8.2f} "
              f"{cpu / floor_cpu:8.1f}")
        if name == "/bench/frame":
            figure = "page frame (base template behind the login), in process, p50"
        else:
            who = "logged out" if name == "/login" else "staff"
            figure = f"light page {name} ({who}), in process, p50"
        record(figure, wall, "hello-world", floor_wall)
    print(f"one _() in a template: {string_us:.1f} µs")


if __name__ == "__main__":
    main()
