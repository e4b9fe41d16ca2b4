"""Door screen benchmark: the poll's "nothing changed" answer (304) beside a Flask hello-world
and a calendar feed's 304, in one process, interleaved (docs/performance.md, "Door screens").

    .venv/bin/python bench/bench_doorscreen.py

Data on SQLite in a temporary directory: one site, 20 rooms with 8 bookings each on the
measured day, a door screen per room, and a personal feed link of one booker. The clock is
pinned at 10:05 on an ordinary Tuesday. Figures (p50 of 5 interleaved rounds of 600):
- Flask hello-world with the same If-None-Match header;
- a personal feed's 304 (the WSGI fast path, office/feeds/fastpath.py);
- a door screen's poll answered 304 (the Flask view: two raw reads, nothing rendered);
- a door screen's poll answered 200 (the state rendered), for scale.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")

from bench._common import hello, timed  # noqa: E402


DAY = date(2027, 2, 9)  # a Tuesday with no holiday near it
ZONE = ZoneInfo("Europe/Stockholm")
ROOMS, PER_ROOM = 20, 8
POLL = {"HX-Request": "true", "HX-Target": "door-state"}


def make_app(workdir: Path):
    from wsgi import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.sqlite3",
                      "SECRET_KEY": "bench", "FEED_RATE_LIMIT": "1000000 per minute"})
    logging.getLogger("samlokal.request").handlers = [logging.FileHandler(os.devnull)]
    logging.getLogger("samlokal.request").propagate = False
    return app


def seed(app) -> dict:
    from office import feeds
    from office.accounts.models import Agency, Role, User
    from office.booking import rules as booking
    from office.core import clock
    from office.core.extensions import db
    from office.doorscreens import rules as doorscreens
    from office.premises.models import Resource, ResourceKind, Site
    from office.premises.rules import set_standard_opening_hours

    with app.test_request_context(), clock.travel_to(datetime.combine(DAY, clock_time(7), ZONE)):
        db.create_all()
        agency = Agency(name="Arbetsförmedlingen", short_name="AF")
        site = Site(name="Drivhuset", address="Oxelösund")
        set_standard_opening_hours(site, clock_time(8), clock_time(17))
        coordinator = User(email="c@example.org", name="Anna Lind", agency=agency,
                           role=Role.coordinator, password_hash="x")
        rooms = [Resource(site=site, name=f"Rum {n}", kind=ResourceKind.room, capacity=6, active=True)
                 for n in range(ROOMS)]
        db.session.add_all([agency, site, coordinator, *rooms])
        db.session.flush()
        for room in rooms:
            for n in range(PER_ROOM):
                booking.book(booking.BookingRequest(
                    resource=room, title=f"Möte {n}", first_day=DAY, start_time=clock_time(8 + n),
                    end_time=clock_time(8 + n, 45), booked_by=coordinator))
        tokens = [doorscreens.create_screen(room, room.name, True, coordinator)[1] for room in rooms]
        feed = feeds.issue_token(coordinator, "personal")
        db.session.commit()
    return {"doors": tokens, "feed": feed}


def p50_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1_000_000


def main() -> None:
    from office.core import clock

    with tempfile.TemporaryDirectory() as workdir:
        app = make_app(Path(workdir))
        tokens = seed(app)
        with clock.travel_to(datetime.combine(DAY, clock_time(10, 5), ZONE), frozen=True):
            client, hello_client = app.test_client(), hello.test_client()
            door = f"/door/{tokens['doors'][0]}"
            feed = f"/feeds/{tokens['feed']}.ics"
            door_etag = client.get(door, headers=POLL).headers["ETag"]
            feed_etag = client.get(feed).headers["ETag"]
            assert client.get(door, headers={**POLL, "If-None-Match": door_etag}).status_code == 304
            assert client.get(feed, headers={"If-None-Match": feed_etag}).status_code == 304
            same = {"If-None-Match": door_etag, **POLL}
            runs = {
                "hello": lambda: hello_client.get("/", headers=same).data,
                "feed_304": lambda: client.get(feed, headers={**POLL, "If-None-Match": feed_etag}).data,
                "door_304": lambda: client.get(door, headers=same).data,
                "door_200": lambda: client.get(door, headers=POLL).data,
            }
            for run in runs.values():  # warm up
                timed(run, 200)
            rounds = {name: [] for name in runs}
            for _ in range(5):  # interleaved so all see the same machine load
                for name, run in runs.items():
                    rounds[name] += timed(run, 600 if name != "door_200" else 150)
        figures = {name: p50_us(samples) for name, samples in rounds.items()}
        print(f"hello-world p50: {figures['hello']:.0f} µs")
        print(f"feed 304 p50: {figures['feed_304']:.0f} µs ({figures['feed_304'] / figures['hello']:.2f}× hello)")
        print(f"door screen 304 p50: {figures['door_304']:.0f} µs "
              f"({figures['door_304'] / figures['hello']:.2f}× hello, "
              f"{figures['door_304'] / figures['feed_304']:.2f}× the feed's 304)")
        print(f"door screen 200 (state rendered) p50: {figures['door_200']:.0f} µs")


if __name__ == "__main__":
    main()
