"""The command-line tools: demo data and user creation."""

from __future__ import annotations

from sqlalchemy import func, select

from office.accounts.models import Agency, Role, User
from office.core.extensions import db
from office.premises.models import Resource, ResourceKind, Site


def test_seed_demo_builds_drivhuset(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "anna.lind@drivhuset.example" in result.output and "drivhuset-demo" in result.output
    count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))
    assert count(Agency) == 7
    assert 18 <= count(User) <= 25
    assert count(User, User.role == Role.coordinator) == 1
    drivhuset = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
    assert count(Resource, Resource.site_id == drivhuset.id, Resource.kind == ResourceKind.room) == 8
    assert count(Resource, Resource.site_id == drivhuset.id, Resource.kind == ResourceKind.desk) == 12
    assert db.session.scalar(select(Site).where(Site.name == "Koordinaten")) is not None
    # A second run refuses to touch a filled database.
    again = app.test_cli_runner().invoke(args=["seed-demo"])
    assert again.exit_code != 0 and "not empty" in again.output


def test_seed_demo_if_empty_runs_once(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo-if-empty"]).exit_code == 0
    assert runner.invoke(args=["seed-demo-if-empty"]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Agency)) == 7


def test_demo_logins_lists_the_accounts_of_a_filled_database(app):
    """What `make run` made refuses a second seed-demo; demo-logins still lists the logins."""
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["demo-logins"])
    assert empty.exit_code == 1 and "seed-demo" in empty.output
    assert runner.invoke(args=["seed-demo-if-empty"]).exit_code == 0
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code == 2 and "demo-logins" in refused.output
    listed = runner.invoke(args=["demo-logins"])
    assert listed.exit_code == 0, listed.output
    assert "drivhuset-demo" in listed.output
    assert "anna.lind@drivhuset.example" in listed.output and "sara.berg@drivhuset.example" in listed.output


def test_demo_login_reaches_dashboard(app, auth, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    response = auth.login("anna.lind@drivhuset.example", "drivhuset-demo")
    assert response.status_code == 302
    assert "Anna Lind" in client.get("/dashboard").get_data(as_text=True)


def test_create_user_command(app, create_agency, auth):
    create_agency(short_name="AF")
    result = app.test_cli_runner().invoke(args=[
        "create-user", "--email", "ny@example.org", "--name", "Ny", "--agency", "AF",
        "--role", "agency_admin", "--password", "ett långt lösenord",
    ])
    assert result.exit_code == 0, result.output
    assert auth.login("ny@example.org", "ett långt lösenord").status_code == 302


def test_create_user_refuses_unknown_agency_and_short_password(app, create_agency):
    create_agency(short_name="AF")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-user", "--email", "a@example.org", "--name", "A",
                               "--agency", "XX", "--password", "long enough pw"]).exit_code != 0
    assert runner.invoke(args=["create-user", "--email", "a@example.org", "--name", "A",
                               "--agency", "AF", "--password", "short"]).exit_code != 0
    assert db.session.scalar(select(User).where(User.email == "a@example.org")) is None


def test_seed_demo_books_the_coming_weeks(app):
    from office.booking.models import ReservationOccurrence

    app.test_cli_runner().invoke(args=["seed-demo"])
    count = db.session.scalar(select(func.count()).select_from(ReservationOccurrence))
    assert count > 40
