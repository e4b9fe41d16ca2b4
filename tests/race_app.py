"""The app as gunicorn serves it, for tests/test_booking_race.py.

With SAMLOKAL_RACE_UNGUARDED=1 (only ever set by hand, to prove the race test can fail)
SQLite transactions begin deferred instead of IMMEDIATE, so check-then-insert interleaves.
"""

import os

from office.core import database
from wsgi import create_app

app = create_app()

if os.environ.get("SAMLOKAL_RACE_UNGUARDED") == "1":
    @app.before_request
    def _drop_the_write_lock():
        database.set_write_intent(False)
