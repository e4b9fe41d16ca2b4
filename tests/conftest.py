"""Test setup: the app on SQLite or PostgreSQL (SAMLOKAL_TEST_DB), factories and login help.

`make test` runs the whole suite twice: on SQLite and on a throwaway PostgreSQL cluster
started by .ci/postgres.sh. PostgreSQL is never skipped silently: without its URL the run fails.

One app per xdist worker (`worker_app`), built once: `app` hands it to each test in a fresh
app context, restores its settings and empties the database after the test. A test that
parametrizes `app_config` with other settings, or is marked `own_app` (it adds routes),
gets an app of its own instead. What the process keeps between tests (the feed caches, the
rate limiter that every app shares) is reset too, so nothing leaks from one test into the next.
"""

from __future__ import annotations

import contextvars
import copy
import os
import re
from datetime import datetime, time

os.environ.setdefault("SAMLOKAL_NO_MODULE_APP", "1")

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from office.accounts.models import Agency, Role, Unit, User
from office.core import clock
from office.core.extensions import db, limiter
from office.premises.models import Resource, ResourceKind, Site
from office.premises.rules import set_standard_opening_hours

BACKEND = os.environ.get("SAMLOKAL_TEST_DB", "sqlite")
PASSWORD = "correct horse battery"


def pytest_report_header(config):
    return f"samlokal database backend: {BACKEND}; now on the app's clock: {clock.now():%Y-%m-%d %H:%M} UTC"


@pytest.fixture(autouse=True)
def _the_tests_clock(request):
    """Every test starts on the process's clock; @pytest.mark.clock("2027-02-09T09:00+01:00")
    starts the app's clock (office/core/clock.py) at that instant instead, before any other fixture
    of the test builds its world (the live server runs in this process and shares it)."""
    marker = request.node.get_closest_marker("clock")
    try:
        if marker is None:
            yield
        else:
            with clock.travel_to(datetime.fromisoformat(marker.args[0]), **marker.kwargs):
                yield
    finally:
        clock.reset()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id):
    """One database per xdist worker, migrated once with Alembic (the real migrations)."""
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/samlokal-{worker_id}.sqlite3"
    elif BACKEND == "postgresql":
        admin_url = os.environ.get("SAMLOKAL_TEST_PG_URL")
        if not admin_url:
            pytest.exit("SAMLOKAL_TEST_DB=postgresql needs SAMLOKAL_TEST_PG_URL (see .ci/test)", 2)
        name = f"samlokal_test_{worker_id}"
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    else:
        raise pytest.UsageError(f"unknown SAMLOKAL_TEST_DB={BACKEND!r}")
    _migrate(url)
    return url


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    from wsgi import create_app

    app = create_app(_test_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _test_config(url: str, instance_path: str | None = None) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 8,
        "SERVER_NAME": None,
    }


def truncate_all(engine) -> None:
    """Empty every table, and on PostgreSQL start the used id sequences at 1 again.

    DELETE, not TRUNCATE: PostgreSQL's TRUNCATE of 55 small tables replaces their files and
    took ~0.5 s per test (most of the PostgreSQL pass), DELETE of their few rows ~7 ms. With
    the foreign-key triggers off (replica role) the order does not matter. SQLite gives the
    next row id max + 1, so an emptied table starts at 1 there by itself.
    """
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    deletes = "; ".join(f'DELETE FROM "{table}"' for table in tables)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql(deletes)
            # Only the sequences used since their last reset (last_value is NULL otherwise).
            conn.exec_driver_sql(
                "SELECT setval((quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass, 1, false)"
                " FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL")
        else:
            for table in tables:
                conn.execute(sa.text(f'DELETE FROM "{table}"'))


class DatabaseSnapshot:
    """Every row of every table, taken once and put back in a fraction of a second.

    For the table-driven tests: building their world (a term, allocations, seminars,
    bookings, a trepartssamtal) costs far more than inserting its few hundred rows again.
    Restored rows keep their ids, so the world's ids stay valid.
    """

    def __init__(self, engine):
        with engine.connect() as conn:
            self.rows = {table: [dict(row._mapping) for row in conn.execute(sa.select(table))]
                         for table in db.metadata.sorted_tables}

    def restore(self, engine) -> None:
        truncate_all(engine)
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # rows may point forward
            else:
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table, rows in self.rows.items():
                if rows:
                    conn.execute(table.insert(), rows)
            if engine.dialect.name == "postgresql":
                # The sequences start at 1 again after truncate_all(): move them past the rows.
                moves = [f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{key.name}'),"
                         f' (SELECT max("{key.name}") FROM "{table.name}"), true)'
                         for table, rows in self.rows.items() if rows for key in _serial_key(table)]
                if moves:
                    conn.exec_driver_sql(" UNION ALL ".join(moves))


def _serial_key(table) -> list:
    """The integer primary key column of `table` when it is its only one (a serial)."""
    key = list(table.primary_key.columns)
    return key if len(key) == 1 and isinstance(key[0].type, sa.Integer) and key[0].autoincrement else []


_WORLDS: dict[tuple[str, object], tuple[object, DatabaseSnapshot]] = {}


def shared_world(key: str, build):
    """`build()`'s world, built once per worker and day and afterwards restored from its rows.

    The test's database is empty when this is called (each test empties it afterwards),
    so every test starts from exactly the same rows, whatever the previous one changed.
    `build()` must return plain values (ids, e-mail addresses, secrets), not ORM objects:
    the objects of the first build do not outlive its session.

    Worlds are built around today on the app's clock, so a test whose @pytest.mark.clock
    puts it on another day (or a run that passes midnight) gets a world built on its day.
    """
    key = (key, clock.today())
    cached = _WORLDS.get(key)
    if cached is not None:
        world, snapshot = cached
        snapshot.restore(db.engine)
        return world
    world = build()
    db.session.commit()
    _WORLDS[key] = (world, DatabaseSnapshot(db.engine))
    return world


@pytest.fixture
def app_config(request, database_url):
    """Settings for `app`; change some with parametrize("app_config", [{...}], indirect=True)."""
    config = _test_config(database_url)
    config.update(getattr(request, "param", None) or {})
    return config


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context, as in production.

    Flask reuses an already pushed app context for a request, so `g` (Flask-Login's
    cached user, Flask-WTF's token) would leak from one request into the next. Each
    request here runs in an empty contextvars context instead; the test's own session
    commits first so it never holds SQLite's write lock while the app works.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)

    def session_transaction(self, *args, **kwargs):
        return _ContextIsolated(super().session_transaction(*args, **kwargs))


class _ContextIsolated:
    def __init__(self, manager):
        self.manager = manager
        self.context = contextvars.Context()

    def __enter__(self):
        return self.context.run(self.manager.__enter__)

    def __exit__(self, *exc):
        return self.context.run(self.manager.__exit__, *exc)


def build_app(config: dict):
    from wsgi import create_app

    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def worker_app(database_url):
    """The app every test of this worker shares unless it needs settings of its own."""
    app = build_app(_test_config(database_url))
    yield app
    with app.app_context():
        db.engine.dispose()


def use_app(app) -> None:
    """Point the process-wide state at `app` and forget what earlier tests left there.

    The one Flask-Limiter object is re-configured by every create_app(): a test that built
    an app with rate limits on leaves it enabled for the next app that does not re-init it.
    The feed caches are keyed by ids and timestamps that the next test's rows may repeat.
    """
    from office import feeds

    limiter.init_app(app)
    feeds.clear_caches()


@pytest.fixture
def app(request, app_config, database_url):
    """The worker's app in a fresh app context; an own app for other settings or `own_app`.

    After the test: the database is emptied, and the shared app's settings are restored
    (tests may change app.config, e.g. a mail server's port).
    """
    own = app_config != _test_config(database_url) or request.node.get_closest_marker("own_app")
    app = build_app(app_config) if own else request.getfixturevalue("worker_app")
    settings = copy.deepcopy(dict(app.config))
    use_app(app)
    try:
        with app.app_context():
            yield app
            db.session.remove()
            truncate_all(db.engine)
            if own:
                db.engine.dispose()
    finally:
        app.config.clear()
        app.config.update(settings)


@pytest.fixture
def client(app):
    """Replaces pytest-flask's client, which preserves contexts across requests."""
    return app.test_client()


# --- factories (Indico style: create_user(), create_site(), ...) -------------

@pytest.fixture
def create_agency(app):
    counter = iter(range(1, 10_000))

    def create(name: str | None = None, short_name: str | None = None, colour="#1f5f8b", units=()):
        n = next(counter)
        agency = Agency(name=name or f"Agency {n}", short_name=short_name or f"AG{n}", colour=colour)
        for unit in units:
            agency.units.append(Unit(name=unit))
        db.session.add(agency)
        db.session.commit()
        return agency

    return create


@pytest.fixture
def create_user(app, create_agency):
    from office.accounts.rules import hash_password

    counter = iter(range(1, 10_000))
    password_hash = hash_password(PASSWORD)

    def create(role: Role = Role.staff, agency: Agency | None = None, email: str | None = None,
               name: str | None = None, **fields) -> User:
        n = next(counter)
        user = User(
            email=email or f"user{n}@example.org", name=name or f"User {n}",
            agency=agency or create_agency(), role=role, password_hash=password_hash, **fields,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return create


@pytest.fixture
def create_site(app):
    counter = iter(range(1, 10_000))

    def create(name: str | None = None, opens=time(8, 0), closes=time(17, 0), weekdays=range(5)):
        site = Site(name=name or f"Site {next(counter)}", address="Storgatan 1, Oxelösund")
        set_standard_opening_hours(site, opens, closes, weekdays)
        db.session.add(site)
        db.session.commit()
        return site

    return create


@pytest.fixture
def create_resource(app, create_site):
    counter = iter(range(1, 10_000))

    def create(site: Site | None = None, name: str | None = None, kind=ResourceKind.room,
               capacity: int = 6, **fields) -> Resource:
        resource = Resource(site=site or create_site(), name=name or f"Room {next(counter)}",
                            kind=kind, capacity=capacity, **fields)
        db.session.add(resource)
        db.session.commit()
        return resource

    return create


# --- logging in ---------------------------------------------------------------

CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class AuthActions:
    """flaskr's helper: auth.login(user), auth.logout(), and the current CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token: str | None = None

    def refresh_token(self, path: str = "/login") -> str:
        self.token = csrf_token_from(self.client.get(path).get_data(as_text=True))
        return self.token

    def login(self, user_or_email, password: str = PASSWORD, follow_redirects=False):
        email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
        token = self.refresh_token("/login")
        response = self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token},
            follow_redirects=follow_redirects,
        )
        if response.status_code == 302:
            # The session is new after logging in, and so is its token. The password page is
            # the lightest page every logged-in user can open (the dashboard reads every agenda).
            self.refresh_token("/password")
        return response

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.token})

    def post(self, path: str, data: dict | None = None, **kwargs):
        """POST a form with the session's CSRF token."""
        payload = {"csrf_token": self.token, **(data or {})}
        return self.client.post(path, data=payload, **kwargs)


@pytest.fixture
def auth(client):
    return AuthActions(client)


# --- the browser ----------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium per worker, shared by every browser test.

    Playwright's sync API runs one instance per thread: a second sync_playwright() in the
    same worker fails ("inside the asyncio loop"), so no test starts its own.
    """
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()
