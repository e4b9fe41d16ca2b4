"""Assembles Samlokal: configuration, extensions, blueprints and CLI.

`app` is the module-level application for gunicorn (`gunicorn wsgi:app`).
"""

from __future__ import annotations

import importlib
import os

from flask import Flask, request

from office.core import database
from office.core.config import Config, load_or_create_secret_key
from office.core.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate

HERE = os.path.dirname(os.path.abspath(__file__))
# The models of every feature, ground floor first.
MODEL_MODULES = (
    "office.core.models", "office.accounts.models", "office.premises.models",
    "office.booking.models", "office.allocations.models", "office.meetings.models",
    "office.availability.models", "office.trepartssamtal.models", "office.feeds.models",
    "office.notifications.models", "office.doorscreens.models", "office.checkin.models",
    "office.floorplans.models",
    "office.directory.models",
    "seminars.models",
)
CLI_MODULES = (
    "office.core.cli", "office.accounts.cli", "office.booking.cli", "office.allocations.cli",
    "office.trepartssamtal.cli", "office.doorscreens.cli", "office.checkin.cli", "office.demo.cli", "seminars.cli",
)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        static_folder=os.path.join(HERE, "static"),
        template_folder=os.path.join(HERE, "templates"),
        instance_path=os.environ.get("SAMLOKAL_INSTANCE_PATH", os.path.join(HERE, "instance")),
    )
    app.config.update(Config().as_dict())
    if config:
        app.config.update(config)
    _finish_config(app)

    _init_extensions(app)
    app.url_map.converters["int"] = database.DatabaseIdConverter  # before any route is added
    _register_blueprints(app)
    _register_cli(app)
    _install_request_hooks(app)
    return app


def _finish_config(app: Flask) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        if app.config["ENV_NAME"] == "production":
            raise RuntimeError("SECRET_KEY must be set in production (one key for every server)")
        app.config["SECRET_KEY"] = load_or_create_secret_key(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        path = os.path.join(app.instance_path, "samlokal.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("postgresql"):
        options.setdefault("pool_pre_ping", True)
    else:
        options.setdefault("connect_args", {"timeout": database.SQLITE_BUSY_TIMEOUT_MS / 1000})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        os.path.join(HERE, package, "translations") for package in ("office", "seminars")
    )
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # tied to the session instead
    if app.config.get("BEHIND_PROXY"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)


def _init_extensions(app: Flask) -> None:
    from office.core import i18n

    for module in MODEL_MODULES:  # every table in the metadata (Alembic, copy-data)
        importlib.import_module(module)

    db.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine)
    migrate.init_app(app, db, directory=os.path.join(HERE, "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    i18n.install_template_gettext(app)
    htmx.init_app(app)
    from office.core import rate_limits  # noqa: F401 - registers the samlokal+db:// storage

    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Log in to see this page.")
    login_manager.session_protection = "basic"
    from office.accounts import login_sessions

    login_manager.user_loader(login_sessions.load_user)  # a cookie is valid while its login session is


def _register_blueprints(app: Flask) -> None:
    from office.accounts import account_views as account
    from office.accounts import auth_views as auth
    from office.accounts import views as users
    from office.allocations import views as allocations
    from office.availability import views as availability
    from office.booking import views as bookings
    from office.core import mail_views as mail
    from office.dashboard import views as home
    from office.meetings import views as meetings
    from office.notifications import handlers as notify
    from office.notifications import views as notifications
    from office.premises import views as premises
    from office.reports import views as reports
    from office.trepartssamtal import views as trepartssamtal
    from seminars.views import bp as seminars_bp

    for blueprint in (home.bp, auth.bp, account.bp, users.bp, premises.bp, bookings.bp,
                      allocations.bp, meetings.bp, availability.bp, trepartssamtal.bp,
                      reports.bp, seminars_bp, mail.bp, notifications.bp):
        app.register_blueprint(blueprint)
    notify.register()  # mails to the people a booking, meeting or invitation concerns
    from office.booking import closures as booking_closures
    from office.trepartssamtal import closures as trepartssamtal_closures

    booking_closures.register()  # what a closed day or new opening hours cancel
    trepartssamtal_closures.register()
    from office.feeds import views as feeds

    feeds.init_app(app)  # blueprint, nav item and the 304 fast path for polling clients
    from office.checkin import views as checkin
    from office.doorscreens import views as doorscreens

    checkin.init_app(app)  # the check-in settings and checking in from a booking page

    doorscreens.init_app(app)  # the coordinator's device links and the screens by the doors
    from office.floorplans import views as floorplans

    floorplans.init_app(app)  # the plans of the floors, to book from

    from office.directory import views as directory

    directory.init_app(app)  # who does what: the staff directory


def _register_cli(app: Flask) -> None:
    for module in CLI_MODULES:  # each feature's cli.py lists its commands by name
        for name, command in importlib.import_module(module).COMMANDS.items():
            app.cli.add_command(command, name)


def _install_request_hooks(app: Flask) -> None:
    from office.accounts.login_sessions import install_idle_tracking
    from office.accounts.second_factor import install_enrolment_requirement
    from office.core.errors import register_error_handlers
    from office.core.observability import install_request_logging
    from office.core.security import install_security_headers
    from office.core.templating import install_template_helpers
    from office.core.transaction import install_request_transaction

    @app.before_request
    def _declare_write_intent():
        # SQLite: transactions of state-changing requests begin IMMEDIATE (office/core/database.py).
        request.environ["samlokal.write_token"] = database.set_write_intent(
            request.method not in ("GET", "HEAD", "OPTIONS")
        )

    @app.teardown_request
    def _forget_write_intent(_exc):
        token = request.environ.pop("samlokal.write_token", None)
        if token is not None:
            try:
                database.reset_write_intent(token)
            except ValueError:  # created in another context; nothing to reset
                pass

    install_request_transaction(app)
    install_idle_tracking(app)
    install_enrolment_requirement(app)
    install_security_headers(app)
    install_request_logging(app)
    register_error_handlers(app)
    install_template_helpers(app)


app = create_app() if os.environ.get("SAMLOKAL_NO_MODULE_APP") != "1" else None
