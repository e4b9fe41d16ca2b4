"""Feeds in bad weather: PostgreSQL stops and restarts under a running app.

On a throwaway cluster of its own (tests/test_faults.py starts it). Calendar clients keep
polling through an outage: every feed answers 503 with Retry-After (the 304 fast path, the
view, a public feed), never 500 and never a cookie; after a restart the kept-open polling
connection is replaced on the next request, so the first poll is answered, not 500.
"""

from __future__ import annotations

import pytest

from office.core.extensions import db
from tests.test_faults import BACKEND, cluster, running_app  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgresql,
    pytest.mark.skipif(BACKEND != "postgresql", reason="needs a PostgreSQL server to stop"),
]


@pytest.fixture
def feed(running_app):
    """A person's personal feed link and its current ETag."""
    from office import feeds
    from office.accounts.models import Agency, Role
    from office.accounts.rules import create_user

    with running_app.app_context():
        agency = Agency(name="Arbetsförmedlingen", short_name="AF")
        db.session.add(agency)
        db.session.flush()
        user = create_user(email="sara@example.org", name="Sara", agency_id=agency.id,
                           role=Role.staff, password="correct horse battery")
        db.session.flush()
        token = feeds.issue_token(user, "personal", name="Telefon")
        db.session.commit()
        db.session.remove()
    client = running_app.test_client()
    url = f"/feeds/{token}.ics"
    response = client.get(url)
    assert response.status_code == 200
    return client, url, response.headers["ETag"]


def _unavailable(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert "Set-Cookie" not in response.headers
    assert "Traceback" not in response.get_data(as_text=True)


def test_feeds_answer_503_with_retry_after_during_an_outage_and_recover(cluster, feed):
    client, url, etag = feed
    conditional = {"If-None-Match": etag}
    assert client.get(url, headers=conditional).status == "304 Not Modified"  # connection kept

    cluster.stop("immediate")  # as a crash would: no goodbye to the clients
    _unavailable(client.get(url, headers=conditional))    # the fast path
    _unavailable(client.head(url, headers=conditional))
    _unavailable(client.get(url))                         # the view
    _unavailable(client.get("/feeds/seminars.ics"))       # a public feed

    cluster.start()
    assert client.get(url, headers=conditional).status == "304 Not Modified"
    assert client.get(url).status_code == 200
    assert client.get("/feeds/seminars.ics").status_code == 200


def test_the_first_poll_after_a_restart_is_answered_not_500(cluster, feed):
    client, url, etag = feed
    conditional = {"If-None-Match": etag}
    assert client.get(url, headers=conditional).status == "304 Not Modified"
    cluster.stop("fast")
    cluster.start()  # nobody polled in between: the kept-open connection is dead
    assert client.get(url, headers=conditional).status == "304 Not Modified"

    assert client.get("/feeds/seminars.ics").status_code == 200
    cluster.stop("fast")
    cluster.start()
    assert client.get("/feeds/seminars.ics").status_code == 200  # the public feed too
    cluster.stop("fast")
    cluster.start()
    assert client.get(url).status_code == 200  # and a full fetch through the view
