"""The scheduled jobs started on two machines at once: no duplicate effect.

Each job runs twice in parallel threads, each with its own app context and database
connection (as two cron jobs on two servers would), released together by a barrier. What
protects them is the database: FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
SQLite (a CLI command's transaction declares its write intent up front).
release-unclaimed has its own test in tests/test_allocations.py.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from office.accounts.models import Role
from office.booking.models import AuditEntry
from office.core import mail as outbox
from office.core.extensions import db
from office.core.models import OutboxMail
from office.core.transaction import unit_of_work
from office.trepartssamtal import rules as meetings
from office.trepartssamtal.models import MeetingStatus, Trepartssamtal
from seminars import mail, planning
from seminars import registration as rules
from seminars.models import Seminar, SeminarState
from tests.deadlines import join_all, start_threads
from tests.seminar_factories import make_seminar
from tests.test_seminar_mail import smtp  # noqa: F401 - the aiosmtpd fixture
from tests.test_trepartssamtal import booked_meeting, office  # noqa: F401 - fixtures

pytestmark = pytest.mark.dates  # the world depends on today: `make test-dates`

PEOPLE = 30


def run_twice_at_once(app, job) -> list:
    """Call job() in two threads released together, each in its own unit of work (as its
    command runs it; send_due commits its claims and mails itself); return both results."""
    db.session.commit()  # the test holds no lock (SQLite's write lock) while the jobs run
    barrier, results, errors = threading.Barrier(2, timeout=60), [], []

    def runner():
        with app.app_context():
            try:
                barrier.wait()
                with unit_of_work():
                    results.append(job())
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    join_all(start_threads(runner), 120, "the job on two machines")
    assert errors == []
    db.session.expire_all()
    return results


@pytest.fixture
def coordinator(create_user):
    return create_user(role=Role.coordinator)


def seminar_with_guests(coordinator, count: int = PEOPLE) -> Seminar:
    seminar = make_seminar(coordinator, capacity=count)
    for n in range(count):
        rules.register_guest(seminar.id, name=f"Gäst {n}", organisation="SSAB",
                             email=f"guest{n}@example.se")
    return seminar


def test_two_mail_senders_deliver_every_mail_exactly_once(app, smtp, coordinator):  # noqa: F811
    seminar_with_guests(coordinator)
    queued = db.session.scalar(select(func.count()).select_from(OutboxMail))
    assert queued == PEOPLE  # the confirmations

    def send_everything() -> int:  # what `send-mail` does: rounds of a small batch
        total = 0
        for _ in range(PEOPLE):  # a round that sends nothing ends it; never more than one per mail
            sent = sum(outbox.send_due(limit=3))
            if not sent:
                break
            total += sent
        return total

    results = run_twice_at_once(app, send_everything)
    delivered = Counter(m["Message-ID"] for m in smtp.messages)
    assert len(delivered) == PEOPLE and set(delivered.values()) == {1}, delivered.most_common(3)
    assert sum(results) == PEOPLE and outbox.queue_length() == 0


def test_two_reminder_jobs_queue_one_reminder_each(app, coordinator):
    seminar = seminar_with_guests(coordinator)
    start = planning.starts_at(seminar)
    results = run_twice_at_once(
        app, lambda: mail.queue_reminders(now=start - timedelta(days=1), days_before=2))
    reminders = db.session.scalars(select(OutboxMail.recipient).where(
        OutboxMail.kind == "reminder")).all()
    assert sum(results) == PEOPLE
    assert len(reminders) == PEOPLE and len(set(reminders)) == PEOPLE


def test_two_finishing_jobs_finish_each_seminar_once(app, coordinator):
    for n in range(5):
        make_seminar(coordinator, title=f"Forum {n}")
    later = max(planning.ends_at(s) for s in db.session.scalars(select(Seminar))) + timedelta(hours=1)
    results = run_twice_at_once(app, lambda: planning.finish_past_seminars(now=later))
    assert sum(results) == 5
    assert set(db.session.scalars(select(Seminar.state))) == {SeminarState.finished}


def test_two_purge_jobs_purge_once_with_one_audit_entry(app, office):  # noqa: F811
    ended = []
    for _ in range(3):
        meeting = booked_meeting(office)
        meetings.record_outcome(meeting, office["sara"], MeetingStatus.held, now=meeting.ends_at)
        ended.append(meeting.ends_at)
    later = max(ended) + timedelta(days=91)
    results = run_twice_at_once(app, lambda: meetings.purge_references(now=later))
    assert sorted(results) == [0, 3]
    entries = db.session.scalars(select(AuditEntry.summary).where(
        AuditEntry.action == "purge_references")).all()
    assert entries == ["count=3 days=90"]
    purged = db.session.scalars(select(Trepartssamtal.purged_at)).all()
    assert purged == [later] * 3  # nobody's erasure time was overwritten by the other job
