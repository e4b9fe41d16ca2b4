"""The app bench/bench_seminars.py serves with gunicorn: Samlokal as deployed, plus its floor.

    gunicorn -c deploy/gunicorn.conf.py bench.registration_server:app

Everything goes to the real app (`wsgi.create_app()`, configured from the environment as
in production) except `POST /bench/floor/<seminar id>?n=<n>`: the floor, served by the same
workers, threads and connection pool, with no Flask: lock the seminar row, take the next
number, insert one row into `bench_floor` (created by the bench), commit; answer 200.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

import sqlalchemy as sa

os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")

from office.core.extensions import db
from wsgi import create_app

samlokal = create_app()
with samlokal.app_context():
    engine = db.engine

_floor = sa.table("bench_floor", sa.column("seminar_id"), sa.column("arrival"), sa.column("email"))
_seminar = sa.table("seminar", sa.column("id"), sa.column("registration_counter"))


def floor(seminar_id: int, n: str) -> None:
    """The least an exact registration must do: the lock, the number, one row, the commit."""
    with engine.begin() as connection:
        counter = connection.execute(
            sa.select(_seminar.c.registration_counter).where(_seminar.c.id == seminar_id)
            .with_for_update()).scalar_one() + 1
        connection.execute(sa.update(_seminar).where(_seminar.c.id == seminar_id)
                           .values(registration_counter=counter))
        connection.execute(sa.insert(_floor).values(seminar_id=seminar_id, arrival=counter,
                                                    email=f"floor{n}@example.se"))


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/bench/floor/"):
        return samlokal(environ, start_response)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)  # the same form a registration sends, unread
    n = parse_qs(environ.get("QUERY_STRING", "")).get("n", ["0"])[0]
    floor(int(path.rsplit("/", 1)[1]), n)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
