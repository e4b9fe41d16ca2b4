"""Login throttling that neither tells which accounts exist nor locks anyone out
(office/accounts/throttle.py, OWASP Authentication Cheat Sheet)."""

from __future__ import annotations

import itertools
import re
import time

import pytest
from sqlalchemy import func, select, update

from office.accounts import rules as accounts
from office.accounts.models import LoginThrottle
from office.core.database import utcnow
from office.core.extensions import db
from tests.conftest import PASSWORD, csrf_token_from

OFFICE = "192.0.2.10"  # one office behind one NAT


def _attempt(client, email, password, address=OFFICE):
    token = csrf_token_from(client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def _fresh(app):
    return app.test_client()


def _answer(response):
    """What a guesser sees, without what differs anyway: the CSRF token, the e-mail typed
    and the exact seconds left of a wait (the clock moves between two tries)."""
    html = response.get_data(as_text=True)
    main = html[html.index("<main"):html.index("</main>")]
    main = re.sub(r'value="[^"]*"|"X-CSRFToken": "[^"]*"', "", main)
    main = re.sub(r"\d+ sekund(er)?", "N sekunder", main)
    return response.status_code, "Retry-After" in response.headers, main


def _not_yet_invited(user):
    user.password_hash = None  # invited, no password chosen yet
    db.session.commit()
    return user


def _unblock_everyone():
    """Time passes: every waiting pair may try again (their failures are remembered)."""
    db.session.execute(update(LoginThrottle).values(blocked_until=None))
    db.session.commit()


def test_unknown_and_known_accounts_get_the_same_answers(app, create_user):
    known = create_user(email="sara@example.org")
    answers = {}
    for email in (known.email, "nobody@example.org"):
        client = _fresh(app)
        answers[email] = [_answer(_attempt(client, email, f"wrong-{n}-{n}-{n}")) for n in range(6)]
    assert answers[known.email] == answers["nobody@example.org"]
    statuses = [status for status, _wait, _html in answers[known.email]]
    assert statuses == [401, 401, 401, 429, 429, 429]


def test_deactivated_and_invited_accounts_answer_like_unknown_ones(app, create_user):
    gone = create_user(email="gone@example.org", active=False)
    invited = _not_yet_invited(create_user(email="invited@example.org"))
    answers = [_answer(_attempt(_fresh(app), email, PASSWORD)) for email in
               (gone.email, invited.email, "nobody@example.org")]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401


@pytest.mark.parametrize("app_config", [{"PASSWORD_HASH_TIME_COST": 3, "PASSWORD_HASH_MEMORY_COST": 64 * 1024}],
                         indirect=True)
def test_unknown_accounts_take_as_long_as_known_ones(app, create_user):
    """One argon2 verification at production cost on every path (a dummy hash for unknown,
    deactivated and not-yet-invited accounts): the time does not tell which exist."""
    known = create_user(email="known@example.org")
    gone = create_user(email="gone@example.org", active=False)
    invited = _not_yet_invited(create_user(email="invited@example.org"))
    client = _fresh(app)
    addresses = (f"198.51.100.{n}" for n in itertools.count(1))  # no pair ever waits

    def seconds(email):
        address = next(addresses)
        page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
        data = {"email": email, "password": "a wrong password", "csrf_token": csrf_token_from(page)}
        started = time.perf_counter()
        response = client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 401
        return time.perf_counter() - started

    # Interleaved rounds, so a busy machine slows every kind alike; the fastest of each kind
    # is its own cost (noise only ever adds time).
    emails = (known.email, "nobody@example.org", gone.email, invited.email)
    fastest = dict.fromkeys(emails, float("inf"))
    for _ in range(9):
        for email in emails:
            fastest[email] = min(fastest[email], seconds(email))
    for other in emails[1:]:
        ratio = fastest[other] / fastest[known.email]
        assert 0.6 < ratio < 1.6, (other, ratio)


def test_failures_slow_down_the_pair_progressively(app, create_user):
    user = create_user()
    client = _fresh(app)
    first = [_attempt(client, user.email, "wrong password!").status_code for _ in range(3)]
    assert first == [401, 401, 401]  # LOGIN_FREE_FAILURES
    waits = []
    for _ in range(4):
        response = _attempt(client, user.email, "wrong password!")
        assert response.status_code == 429
        waits.append(int(response.headers["Retry-After"]))
        blocked = _attempt(client, user.email, PASSWORD)  # while waiting: refused unchecked, even the right one
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers
        assert "Fel e-postadress eller lösenord" not in blocked.get_data(as_text=True)
        _unblock_everyone()
    assert waits == [5, 10, 20, 40]
    assert "vänta 40 sekunder" in response.get_data(as_text=True)
    assert _attempt(client, user.email, PASSWORD).status_code == 302


@pytest.mark.parametrize("app_config", [{"LOGIN_DELAY_SECONDS": 60, "LOGIN_MAX_DELAY_SECONDS": 300}],
                         indirect=True)
def test_the_wait_has_a_ceiling(app, create_user):
    user = create_user()
    client = _fresh(app)
    waits = []
    for _ in range(8):
        response = _attempt(client, user.email, "wrong password!")
        waits.append(response.headers.get("Retry-After"))
        _unblock_everyone()
    assert waits == [None, None, None, "60", "120", "240", "300", "300"]


def test_a_waiting_pair_holds_up_nobody_else(app, create_user):
    """Not the account from another address, not colleagues behind the same address."""
    sara, colleague = create_user(), create_user()
    guesser = _fresh(app)
    for _ in range(5):
        _attempt(guesser, sara.email, "wrong password!")
    assert _attempt(guesser, sara.email, PASSWORD).status_code == 429
    assert _attempt(_fresh(app), sara.email, PASSWORD, address="203.0.113.5").status_code == 302
    assert _attempt(_fresh(app), colleague.email, PASSWORD).status_code == 302


def test_a_right_password_forgives_the_pairs_failures(app, create_user):
    user = create_user()
    client = _fresh(app)
    for _ in range(3):
        _attempt(client, user.email, "wrong password!")
    assert _attempt(client, user.email, PASSWORD).status_code == 302
    assert [_attempt(_fresh(app), user.email, "wrong password!").status_code for _ in range(3)] == [401] * 3


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_PER_ADDRESS": "5 per minute"}], indirect=True)
def test_the_address_limit_counts_failures_only_and_never_refuses_a_right_password(app, create_user):
    staff = [create_user() for _ in range(8)]
    for user in staff:  # a busy morning at the office: successes do not count
        assert _attempt(_fresh(app), user.email, PASSWORD).status_code == 302
    statuses = [_attempt(_fresh(app), f"guess{n}@example.org", "wrong password!").status_code for n in range(7)]
    assert statuses == [401] * 5 + [429, 429]
    response = _attempt(_fresh(app), "guess9@example.org", "wrong password!")
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 60
    # One office behind one NAT: everyone with the right password still gets in.
    assert all(_attempt(_fresh(app), user.email, PASSWORD).status_code == 302 for user in staff)
    assert _attempt(_fresh(app), "guess1@example.org", "wrong password!", address="203.0.113.7").status_code == 401


@pytest.mark.parametrize("app_config", [{"LOGIN_RATE_PER_ACCOUNT": "5 per hour"}], indirect=True)
def test_an_account_guessed_from_many_addresses_waits_from_the_first_failure(app, create_user):
    user = create_user()
    statuses = [_attempt(_fresh(app), user.email, f"guess {n} guess", address=f"203.0.113.{n}").status_code
                for n in range(1, 9)]
    assert statuses == [401] * 5 + [429] * 3  # no free failures once the account is under attack
    assert _attempt(_fresh(app), user.email, PASSWORD, address="198.51.100.77").status_code == 302


def test_ipv6_addresses_are_throttled_by_their_network(app, create_user):
    user = create_user()
    statuses = [_attempt(_fresh(app), user.email, "wrong password!", address=f"2001:db8:1:2::{n:x}").status_code
                for n in range(1, 6)]
    assert statuses == [401, 401, 401, 429, 429]


def test_a_refused_login_is_counted_and_the_table_holds_no_address_or_email(app, create_user):
    user = create_user(email="sara@example.org")
    assert _attempt(_fresh(app), user.email, "wrong password!").status_code == 401
    db.session.commit()
    rows = db.session.scalars(select(LoginThrottle)).all()
    assert len(rows) == 3 and {r.failures for r in rows} == {1}  # pair, address, account
    assert not any("sara" in r.key or OFFICE in r.key for r in rows)


def test_two_app_servers_count_one_pair_together(app, database_url, create_user):
    """The counts live in the database: a guesser alternating servers gains nothing."""
    from tests.conftest import IsolatedClient, _test_config
    from wsgi import create_app

    user = create_user()
    other = create_app(_test_config(database_url))
    other.test_client_class = IsolatedClient
    servers = [app.test_client(), other.test_client()]
    try:
        statuses = [_attempt(servers[n % 2], user.email, "wrong password!").status_code for n in range(5)]
    finally:
        with other.app_context():
            db.engine.dispose()
    assert statuses == [401, 401, 401, 429, 429]


def test_nul_in_the_email_is_a_clear_refusal_not_a_500(app):
    response = _attempt(_fresh(app), "sara\x00@example.org", "whatever password")
    assert response.status_code == 422
    assert "tecken som inte är tillåtna" in response.get_data(as_text=True)
    assert accounts.find_user_by_email("a\x00b") is None


def test_successful_logins_tidy_up_old_rows(app, create_user):
    user = create_user()
    _attempt(_fresh(app), "nobody@example.org", "wrong password!")
    db.session.execute(update(LoginThrottle).values(window_ends_at=utcnow()))
    db.session.commit()
    assert _attempt(_fresh(app), user.email, PASSWORD).status_code == 302
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LoginThrottle)) == 0

