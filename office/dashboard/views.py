"""The Start page (a person's day, booking in one click) and the health check."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, text

from office.core.database import read_only
from office.core.extensions import db
from office.core.i18n import today_local
from office.core.templating import admin_navigation
from office.dashboard import agenda
from office.premises.models import Resource, Site

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Sends you to the dashboard, or to the login page when logged out."""
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    return redirect(url_for("auth.login"))


@bp.get("/dashboard")
@login_required
def dashboard():
    """Your day today and the next days, one click from each thing; book a room or a desk."""
    first, last = agenda.coming_days(today_local())
    sites = db.session.scalars(select(Site).order_by(Site.name)).all()
    counts = dict(db.session.execute(
        select(Resource.site_id, db.func.count()).where(Resource.active.is_(True))
        .group_by(Resource.site_id)).all())
    return render_template("dashboard/start.html", days=agenda.my_days(current_user, first, last),
                           today=first, last=last, sites=sites, resource_counts=counts)


@bp.get("/administration")
@login_required
def administration():
    """The pages of the user's role (coordinator, agency admin), each with what it is for."""
    items = admin_navigation()
    if not items:
        abort(403)
    return render_template("dashboard/administration.html", items=items)


@bp.get("/healthz")
def healthz():
    """Answers 200 when the database answers, 503 otherwise (for load balancers)."""
    try:
        with read_only():
            db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "unhealthy"
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")
