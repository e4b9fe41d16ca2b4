"""Error pages in the user's language; htmx requests get a short fragment instead."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from office.core.extensions import db, htmx, login_manager

log = logging.getLogger("samlokal.errors")

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to see or do this.")),
    404: (_l("Not found"), _l("The page does not exist or has been removed.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    410: (_l("Gone"), _l("This address is no longer valid.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    429: (_l("Too many attempts"), _l("Wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("An error occurred on our side. Nothing was saved. Try again later.")),
    503: (_l("Temporarily unavailable"), _l("The service cannot reach its database right now. Try again in a minute.")),
}


def render_error(status: int, detail: str | None = None):
    title, message = MESSAGES.get(status, MESSAGES[500])
    # A boosted link or form replaces the whole page, so it gets the whole error page.
    template = "errors/_error.html" if htmx and not htmx.boosted else "errors/error.html"
    return render_template(template, status=status, title=title, message=detail or message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(400, str(_l("The form had expired or was sent from elsewhere. Reload the page and try again.")))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response_body, status = render_error(error.code)
        headers = {}
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return response_body, status, headers

    @app.errorhandler(OperationalError)
    def _database_unavailable(error):
        db.session.rollback()
        log.warning("database unavailable: %s", type(error).__name__)
        # Render as for a visitor: asking the database who is logged in would fail again
        # inside this handler and turn the clear 503 page into a bare 500.
        g._login_user = login_manager.anonymous_user()
        return render_error(503)

    @app.errorhandler(Exception)
    def _unexpected(error):
        db.session.rollback()
        log.exception("unhandled error")  # the traceback, never the request body
        return render_error(500)
