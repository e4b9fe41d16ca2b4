"""One transaction per user action: the request, the CLI command or the job owns it.

Rules add, flush and raise; they never commit or roll back. The boundary decides:

- a web request commits once after its view returned a successful answer (< 400) and rolls
  back on a refusal (4xx), an error or an exception, so a refused action leaves no row, no
  audit line and no queued mail (`install_request_transaction`);
- a view whose refusal must still be recorded (a failed login counts) calls
  `keep_changes_on_refusal()` first;
- CLI commands and scheduled jobs wrap their work in `with unit_of_work():`.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import Flask, g

from office.core.extensions import db


def keep_changes_on_refusal() -> None:
    """Commit this request's changes even though it answers 4xx (e.g. counting a failed login)."""
    g.samlokal_keep_on_refusal = True


def install_request_transaction(app: Flask) -> None:
    @app.after_request
    def _end_request_transaction(response):
        if response.status_code < 400 or g.get("samlokal_keep_on_refusal"):
            db.session.commit()
        else:
            db.session.rollback()
        return response


@contextmanager
def unit_of_work():
    """The transaction of a CLI command or job: committed once at the end, or rolled back."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
