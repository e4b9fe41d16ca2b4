"""The dashboard and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select, text

from office.core.database import read_only
from office.core.extensions import db
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
    """Your start page: the sites and what you can do from here."""
    sites = db.session.scalars(select(Site).order_by(Site.name)).all()
    counts = {
        site.id: db.session.scalar(
            select(db.func.count()).select_from(Resource).where(
                Resource.site_id == site.id, Resource.active.is_(True)
            )
        )
        for site in sites
    }
    return render_template("dashboard/start.html", sites=sites, resource_counts=counts)


@bp.get("/healthz")
def healthz():
    """Answers 200 when the database answers, 503 otherwise (for load balancers)."""
    try:
        with read_only():
            db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means "unhealthy"
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok")
