"""Faults: the database goes away under a running app, and comes back.

Runs in the PostgreSQL pass only, on a throwaway cluster of its own (never the shared
test cluster), started the way .ci/postgres.sh starts one: initdb and pg_ctl, as the
`postgres` user when we are root. While the server is down every page answers a clear 503
in the user's language; once it is back the app recovers by itself (pool_pre_ping), with
no restart and the same login session.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest
from sqlalchemy import func, select

from office.core.extensions import db
from office.premises.models import Site
from tests.conftest import BACKEND, AuthActions, IsolatedClient, _migrate, _test_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),  # stops and starts a PostgreSQL server
    pytest.mark.postgresql,
    pytest.mark.skipif(BACKEND != "postgresql", reason="needs a PostgreSQL server to stop"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster in a temporary directory, on its own loopback port."""

    def __init__(self):
        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
        if not bindirs:
            pytest.fail("PostgreSQL server binaries are missing (.ci/postgres.sh installs them)")
        self.bin = bindirs[-1]
        self.dir = tempfile.mkdtemp(prefix="samlokal-fault-pg.")
        self.port = _free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres?connect_timeout=3"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_postgres, f"{self.bin}/{tool}", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "start", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c full_page_writes=off")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", f"{self.dir}/data", "-m", mode, "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster():
    cluster = Cluster()
    cluster.start()
    yield cluster
    cluster.remove()


@pytest.fixture
def running_app(cluster):
    from wsgi import create_app

    _migrate(cluster.url)
    app = create_app(_test_config(cluster.url))
    app.test_client_class = IsolatedClient
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _sites(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Site))
        db.session.remove()
        return count


def test_database_outage_gives_503_and_the_app_recovers_by_itself(cluster, running_app):
    from office.accounts.models import Agency, Role
    from office.accounts.rules import create_user

    with running_app.app_context():
        agency = Agency(name="Samordningsförbundet RAR", short_name="RAR")
        db.session.add(agency)
        db.session.flush()
        create_user(email="anna@example.org", name="Anna", agency_id=agency.id,
                    role=Role.coordinator, password="correct horse battery")
        db.session.commit()
        db.session.remove()
    client = running_app.test_client()
    auth = AuthActions(client)
    assert auth.login("anna@example.org", "correct horse battery").status_code == 302
    assert client.get("/dashboard").status_code == 200  # the pool now holds a connection

    cluster.stop("immediate")  # as a crash would: no goodbye to the clients
    page = client.get("/dashboard")
    assert page.status_code == 503
    html = page.get_data(as_text=True)
    assert "Tillfälligt otillgänglig" in html and "Försök igen om en minut" in html
    assert "Traceback" not in html and "psycopg" not in html
    assert client.get("/healthz").status_code == 503
    fragment = client.get("/sites/", headers={"HX-Request": "true"})
    assert fragment.status_code == 503 and "<html" not in fragment.get_data(as_text=True)
    refused = auth.post("/sites/new", {"name": "Saved during the outage?"})
    assert refused.status_code == 503

    cluster.start()
    # No restart of the app: the pool throws away its dead connections (pool_pre_ping).
    assert client.get("/healthz").status_code == 200
    page = client.get("/dashboard")
    assert page.status_code == 200 and "Hej, Anna" in page.get_data(as_text=True)
    assert _sites(running_app) == 0  # nothing half-saved from the refused form
    assert auth.post("/sites/new", {"name": "Saved after the outage"}).status_code == 302
    assert _sites(running_app) == 1
