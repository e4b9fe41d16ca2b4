"""One transaction per user action: the request, the CLI command or the job owns it.

Rules add, flush and raise; they never commit or roll back. The boundary decides:

- a web request commits once after its view returned a successful answer (< 400) and rolls
  back on a refusal (4xx), an error or an exception, so a refused action leaves no row, no
  audit line and no queued mail (`install_request_transaction`);
- a view whose refusal must still be recorded (a failed login counts) calls
  `keep_changes_on_refusal()` first;
- CLI commands and scheduled jobs wrap their work in `with unit_of_work():`. A job that works
  through claimed batches (sending mail) opens one per batch, so one bad batch does not undo
  the others; its module docstring says so.

Refusals, written once:

- A rule refuses by raising (BookingRefused, PlanningRefused, ...). When the database is the
  one refusing, because another transaction took the slot, the e-mail address or the name
  first (exclusion or unique violation, deadlock, serialization failure, SQLite busy), the
  rule wraps the flush in `conflicts_become(...)` and the database's error becomes the rule's
  own 409 "just taken".
- After a refusal what the action wrote so far is void, and after a lost race the
  transaction cannot even go on (PostgreSQL aborts it). So a view's refusal path calls
  `undo_refused_action()` before it renders the form again: the page shows the database as
  it is, never the refused rows still pending in the session, and the boundary then has
  nothing left to roll back. CLI commands let the refusal leave their `unit_of_work()`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from flask import Flask, g
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from office.core.extensions import db

# PostgreSQL's ways of saying that another transaction got there first:
# exclusion_violation, unique_violation, deadlock_detected, serialization_failure.
LOST_RACE_SQLSTATES = frozenset({"23P01", "23505", "40P01", "40001"})
# SQLite's (extended result codes): a writer holds the file, or the same unique value.
LOST_RACE_SQLITE_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CONSTRAINT_UNIQUE")


def keep_changes_on_refusal() -> None:
    """Commit this request's changes even though it answers 4xx (e.g. counting a failed login)."""
    g.samlokal_keep_on_refusal = True


# Work that must wait until the request's changes are committed (and its locks released),
# e.g. writing the mails it queued (office/core/mail.py). Runs only after a commit.
_AFTER_COMMIT: list[Callable[[], None]] = []


def after_request_commit(hook: Callable[[], None]) -> Callable[[], None]:
    _AFTER_COMMIT.append(hook)
    return hook


def run_after_commit() -> None:
    """The request's after-commit work (also called by a benchmark acting as a request)."""
    for hook in _AFTER_COMMIT:
        hook()


def install_request_transaction(app: Flask) -> None:
    @app.after_request
    def _end_request_transaction(response):
        if response.status_code < 400 or g.get("samlokal_keep_on_refusal"):
            db.session.commit()
            run_after_commit()
        else:
            db.session.rollback()
        return response


@contextmanager
def unit_of_work():
    """The transaction of a CLI command or job (or one batch of a job): committed once at the
    end, or rolled back."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def is_lost_race(error: DBAPIError) -> bool:
    """Whether the database refused a write because another transaction got there first."""
    original = error.orig
    state = getattr(original, "sqlstate", None)
    if state is not None:
        return state in LOST_RACE_SQLSTATES
    return getattr(original, "sqlite_errorname", "").startswith(LOST_RACE_SQLITE_ERRORS)


@contextmanager
def conflicts_become(refusal: Callable[[], Exception]):
    """Around a rule's flush: a lost race (`is_lost_race`) raises `refusal()` instead.

    Other database errors pass unchanged. Nothing of the transaction is saved either way:
    the view's refusal path calls `undo_refused_action()`, a CLI's `unit_of_work()` rolls back.
    """
    try:
        yield
    except DBAPIError as error:
        if is_lost_race(error):
            raise refusal() from None
        raise


def undo_refused_action() -> None:
    """A view's refusal path, before it renders the form again: undo what the action wrote."""
    db.session.rollback()


# --- what one transaction reads once -------------------------------------------------

_MEMO = "samlokal_transaction_memo"


def transaction_memo(session=None) -> dict:
    """A dict for what is the same for every check of one user action (a site's opening
    hours and closures, a resource's allocations): read once, then kept until anything is
    written through the session or the transaction ends, whichever comes first."""
    session = session or db.session
    if session.autoflush:
        session.flush()  # what a query would have flushed first (cheap when nothing is pending)
    return session.info.setdefault(_MEMO, {})


def read_connection(session=None):
    """The session's connection for a prebuilt Core read, after the flush that the session's
    own execute() would have done first (so pending changes are seen)."""
    session = session or db.session
    if session.autoflush:
        session.flush()
    return session.connection()


def _forget(session) -> None:
    session.info.pop(_MEMO, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session, transaction) -> None:
    _forget(session)


@event.listens_for(Session, "after_flush")
def _forget_after_flush(session, context) -> None:
    _forget(session)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _forget(state.session)
